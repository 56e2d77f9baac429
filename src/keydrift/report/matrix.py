"""The drift grid as plain text (``keydrift check --matrix``), for terminals and CI logs.

Same data as the HTML grid (:attr:`CheckResult.groups`): per secret of each deployment unit,
environments down, services across, each cell a key letter, its short fingerprint (none for a
weak value) and a marker. No colour: the letters carry the signal.
"""

from __future__ import annotations

from keydrift._format import printable
from keydrift.model.result import CheckResult, GridCell, Marker, SecretGroup

_MARK = {
    Marker.OK: "",
    Marker.MISSING: "missing",
    Marker.GENERATED: "generated/process",
    Marker.PLACEHOLDER: "placeholder",
    Marker.WEAK: "weak",
    Marker.UNRESOLVED: "set at deploy",
}
MAX_COLUMNS = 12  # services per printed grid; wider grids continue below


def _clean(text: str) -> str:
    """Names come from the repository: control characters (ANSI escapes, newlines, bidi
    controls) would let a file rewrite the terminal, so they are shown as escapes."""
    return printable(text)


def _cell(c: GridCell | None) -> str:
    if c is None:
        return "-"
    parts = [c.key or "", c.label or "", _MARK[c.marker]]
    if c.processes > 1:
        parts.append(f"x{c.processes}")
    if c.findings:
        parts.append("!")
    return " ".join(p for p in parts if p) or "?"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    def line(cells: list[str]) -> str:
        return "  " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
    return [line(header), "  " + "-+-".join("-" * w for w in widths), *(line(r) for r in rows)]


def _group(g: SecretGroup) -> list[str]:
    out = [f"{_clean(g.label)} in {_clean(g.unit)}"]
    rows = g.rows()
    for start in range(0, max(1, len(g.services)), MAX_COLUMNS):
        names = g.services[start:start + MAX_COLUMNS]
        header = ["environment", *(_clean(s) for s in names)]
        body = [
            [_clean(env) if env is not None else "any", *(_cell(c) for c in cells[start:start + MAX_COLUMNS])]
            for env, cells in rows
        ]
        out.extend(_table(header, body))
    return out


def render_matrix(result: CheckResult) -> str:
    """The grid of every secret group, or one line saying there is none."""
    if not result.groups:
        return "keydrift check: no secret the checked files give to a service\n"
    lines = ["Which service has which key (letter = distinct value, xN = processes, "
             "! = has findings):"]
    for g in result.groups:
        lines.append("")
        lines.extend(_group(g))
    return "\n".join(lines) + "\n"
