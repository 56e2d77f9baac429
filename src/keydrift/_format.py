"""Small formatting helpers shared by the library, explain and the reports."""

from __future__ import annotations


def duration(seconds: float) -> str:
    """``10922`` -> ``3h02m``; ``40`` -> ``40s``; ``150`` -> ``2m30s``; ``200000`` -> ``2d07h``."""
    total = int(abs(seconds))
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, mins = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{mins:02d}m"
    return f"{hours // 24}d{hours % 24:02d}h"


# Workflow-command prefixes CI runners act on when a log line starts with them, after leading
# whitespace: GitHub Actions (`::error::`, legacy `##[error]`) and Azure Pipelines (`##vso[`).
_COMMAND_PREFIXES = ("::", "##")


def printable(text: str) -> str:
    """``text`` safe to print on one terminal or CI-log line.

    Strings from outside (file and service names, variables, server fields) may carry escape
    sequences, line breaks or bidi controls that forge report lines or retitle a terminal.
    Every character that is not printable becomes a visible escape (``\\x1b``, ``\\n``,
    ``\\u202e``); the backslash itself is left alone so ordinary Windows-style paths stay
    readable. Python's ``str.isprintable`` is the definition: it is false for C0/C1 controls,
    line and paragraph separators and format characters (Unicode categories Cc, Cf, Zl, Zp, Zs
    other than the space).
    """
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable():
            out.append(ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000
                       else f"\\U{code:08x}")
    return "".join(out)


def safe_line(line: str) -> str:
    """A rendered line that a CI runner cannot take for a workflow command.

    GitHub Actions acts on ``::command::`` and ``##[command]`` at the start of a line, leading
    whitespace ignored, so a file named ``::error::x`` printed first on a line would raise a
    fake annotation. The first character of such a line is written as a visible escape.
    """
    stripped = line.lstrip()
    if stripped.startswith(_COMMAND_PREFIXES):
        indent = line[: len(line) - len(stripped)]
        return f"{indent}\\x{ord(stripped[0]):02x}{stripped[1:]}"
    return line
