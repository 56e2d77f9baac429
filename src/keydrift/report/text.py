"""Human report: findings grouped by environment, colour through rich only when asked (a TTY)."""

from __future__ import annotations

import io
from itertools import groupby

from keydrift._format import printable, safe_line
from keydrift.model.findings import Finding, Severity
from keydrift.model.result import CheckResult

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.NOTE: "cyan"}
Line = list[tuple[str, str]]  # (text, rich style) segments
MAX_LOCATIONS = 12  # per finding in text; JSON and SARIF carry them all


def _env_key(f: Finding) -> str:
    return f.environment or ""


def _lines(result: CheckResult) -> list[Line]:
    out: list[Line] = []
    ordered = sorted(result.findings, key=Finding.sort_key)
    for env, items in groupby(ordered, key=_env_key):
        group = list(items)
        out.append([(f"== {env or 'any environment'} ==", "bold")])
        for f in group:
            rule = result.rule(f.rule)
            name = rule.name if rule else ""
            head: Line = [
                (f.severity.value, _STYLE[f.severity]),
                (" ", ""),
                (f.rule, "bold"),
                (f" {name}" if name else "", ""),
            ]
            if f.services:
                head.append((f"  [{', '.join(f.services)}]", "magenta"))
            out.append(head)
            out.append([("  " + f.message, "")])
            if f.locations:
                first, *rest = [str(loc) for loc in f.locations]
                out.append([("  at: ", "dim"), (first, "")])
                out.extend([("      " + loc, "")] for loc in rest[:MAX_LOCATIONS])
                if len(rest) > MAX_LOCATIONS:
                    more = len(rest) - MAX_LOCATIONS
                    out.append([(f"      ... and {more} more (see --format json)", "dim")])
            if f.steps:
                chain = " -> ".join(str(step) for step in f.steps)
                out.append([("  provenance: ", "dim"), (chain, "")])
            if f.fingerprints:
                out.append([("  fingerprints: ", "dim"), (", ".join(f.fingerprints), "")])
            out.append([("  at run time: ", "dim"), (f.runtime_effect, "")])
            out.append([("  fix: ", "dim"), (f.fix, "green")])
            if rule is not None:
                out.append([("  docs: ", "dim"), (rule.help_uri, "")])
            out.append([("  id: ", "dim"), (f.finding_id, "dim")])
            out.append([])
    if result.skipped:
        out.append([(f"Skipped ({len(result.skipped)}):", "bold")])
        out.extend([(f"  {s.location}: {s.reason}", "")] for s in result.skipped)
        out.append([])
    return out


def _escaped(lines: list[Line]) -> list[Line]:
    """Every segment made printable, and no line a CI runner would take for a command.

    File, service and variable names come from the checked tree: a file named
    ``.env.\x1b]0;x\x07\nerror KD999 fake`` must not retitle the terminal or forge a report
    line, and one named ``::error::x`` must not raise a GitHub annotation. Escaping here covers
    stdout and ``--output`` alike; every string passes, ours are printable already.
    """
    out: list[Line] = []
    for line in lines:
        parts = [(printable(text), style) for text, style in line]
        if parts:
            guarded = safe_line(parts[0][0] + "".join(text for text, _ in parts[1:]))
            if guarded != "".join(text for text, _ in parts):
                parts = [(guarded, "")]  # a forged command line loses its styling too
        out.append(parts)
    return out


def render(result: CheckResult, *, color: bool = False) -> str:
    """The report as text; with ``color`` it carries ANSI styles from rich."""
    lines = _escaped(_lines(result))
    if not color:
        return "".join("".join(text for text, _ in line) + "\n" for line in lines)
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(
        file=buffer, force_terminal=True, color_system="standard", width=10_000,
        highlight=False, soft_wrap=True,
    )
    for line in lines:
        text = Text()
        for part, style in line:
            text.append(part, style=style or None)
        console.print(text)
    return buffer.getvalue()
