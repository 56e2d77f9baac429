"""Named regression: one very long shell line cannot make the reader quadratic."""

from __future__ import annotations


def test_security_a_huge_shell_line_is_split_in_linear_time() -> None:
    # The command splitter falls back to whitespace for lines no deploy command reaches;
    # shlex on them was quadratic (found by bench/fuzz_check.py).
    from keydrift.sources._support.cliargs import MAX_SHLEX_CHARS, split_command

    line = "export " + " ".join(f"K{i}='v {i}'" for i in range(60_000))
    assert len(line) > MAX_SHLEX_CHARS
    words = split_command(line)
    assert words[0] == "export" and len(words) > 60_000
    assert split_command("export A='x y'") == ["export", "A=x y"]
