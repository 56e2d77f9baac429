"""Inline suppressions: ``# keydrift: ignore[KD401]`` (or ``# keydrift: ignore``) in a comment.

A comment silences the findings located on its own line or on the line below it, in any file
kind whose comments start with ``#`` (.env, YAML, Python, shell, Dockerfile). Silenced findings
are kept in :attr:`CheckResult.suppressed`, never dropped, and a comment that silences nothing
becomes a KD901 note so stale ones are found.

Files are read again here, only the checked files inside the checked root, without following
symlinks, with the same size bound as the readers: a finding's location is already a path the
check read, and this pass needs only the comment lines, never a value.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from keydrift.check.discovery import FileReader
from keydrift.model.findings import Finding, RuleInfo, Severity
from keydrift.model.result import Suppressed
from keydrift.model.types import Location
from keydrift.sources.interface import UnreadableFile

__all__ = ["UNUSED_SUPPRESSION", "Directive", "apply_suppressions", "find_directives"]

UNUSED_SUPPRESSION = RuleInfo(
    id="KD901",
    name="unused-suppression",
    title="An inline keydrift: ignore comment silences no finding",
    default_severity=Severity.NOTE,
    description="A `keydrift: ignore` comment whose rules report nothing on its line or the "
                "line below: the problem was fixed or moved, and the comment would silence a "
                "future finding nobody has seen.",
)

# `#` starts the comment (at the start of a line or after whitespace, so a `#` inside a value
# like `abc#def` does not count); rule ids are KD + three digits.
_DIRECTIVE = re.compile(
    r"(?:^|\s)#.*?\bkeydrift:\s*ignore(?:\[(?P<rules>[^\]\n]{0,200})\])?", re.IGNORECASE
)
_RULE_ID = re.compile(r"^KD\d{3}$")
_MAX_DIRECTIVES = 10_000  # per check: a tree full of them is someone's mistake, not a policy


@dataclass
class Directive:
    """One ``keydrift: ignore`` comment; ``rules`` empty means every rule."""

    location: Location
    rules: frozenset[str]
    text: str
    used: set[str] = field(default_factory=set)

    def covers(self, rule: str) -> bool:
        return not self.rules or rule in self.rules


def find_directives(root: str, files: Iterable[str]) -> list[Directive]:
    """Every ``keydrift: ignore`` comment in ``files`` (paths relative to ``root``)."""
    out: list[Directive] = []
    # The readers' own checks: inside the root after resolving symlinks, a regular file, within
    # the size bound (one realpath per folder, where resolving each file cost 2 ms in 15).
    reader = FileReader(root)
    for rel in files:
        if rel == "-" or len(out) >= _MAX_DIRECTIVES:
            continue
        try:
            data = reader.read_bytes(rel)
        except UnreadableFile:
            continue
        if b"keydrift" not in data.lower():
            continue
        text = data.decode("utf-8", "replace")
        for number, line in _comment_lines(rel, text):
            if "keydrift" not in line.lower():
                continue
            match = _DIRECTIVE.search(line)
            if match is None:
                continue
            raw = match.group("rules")
            rules = frozenset(
                r.strip().upper() for r in (raw or "").split(",") if r.strip()
            )
            if raw is not None and (not rules or not all(_RULE_ID.match(r) for r in rules)):
                continue  # `ignore[]` or `ignore[foo]`: not ours to guess; the comment stays
            out.append(Directive(Location(rel, number), rules, match.group(0).strip()))
            if len(out) >= _MAX_DIRECTIVES:
                break
    return out


def _comment_lines(rel: str, text: str) -> Iterable[tuple[int, str]]:
    """(line number, text) of the lines that may hold a comment. For Python, only its real
    comments (the tokenizer's, so a ``"# keydrift: ignore"`` inside a string is not one); for
    the other file kinds every line, the ``#`` rule of :data:`_DIRECTIVE` deciding."""
    if rel.endswith(".py"):
        try:
            tokens = tokenize.generate_tokens(io.StringIO(text).readline)
            return [(tok.start[0], tok.string) for tok in tokens if tok.type == tokenize.COMMENT]
        except (tokenize.TokenError, SyntaxError):
            pass  # not valid Python: read it like the other kinds
    return enumerate(text.splitlines(), start=1)


def _match(f: Finding, by_line: dict[tuple[str, int], list[Directive]]) -> Directive | None:
    for loc in f.locations:
        if loc.line is None:
            continue
        for line in (loc.line, loc.line - 1):
            for d in by_line.get((loc.path, line), ()):
                if d.covers(f.rule):
                    return d
    return None


def apply_suppressions(
    findings: Sequence[Finding], directives: Sequence[Directive], *, report_unused: bool = True
) -> tuple[list[Finding], list[Suppressed]]:
    """Split ``findings`` into kept and suppressed; add a KD901 note per comment (or rule it
    names) that silenced nothing when ``report_unused``."""
    by_line: dict[tuple[str, int], list[Directive]] = {}
    for d in directives:
        assert d.location.line is not None
        by_line.setdefault((d.location.path, d.location.line), []).append(d)
    kept: list[Finding] = []
    suppressed: list[Suppressed] = []
    for f in findings:
        match = _match(f, by_line)
        if match is None:
            kept.append(f)
        else:
            match.used.add(f.rule)
            suppressed.append(Suppressed(f, match.location))
    if report_unused:
        kept.extend(_unused(d) for d in directives if _stale(d))
    return kept, suppressed


def _stale(d: Directive) -> bool:
    return not d.used or bool(d.rules - d.used)


def _unused(d: Directive) -> Finding:
    if d.rules and d.used:
        idle = ", ".join(sorted(d.rules - d.used))
        what = f"silences no {idle} finding (it does silence {', '.join(sorted(d.used))})"
    else:
        which = ", ".join(sorted(d.rules)) if d.rules else "any rule's"
        what = f"silences no {which} finding" if d.rules else "silences no finding"
    return Finding(
        rule=UNUSED_SUPPRESSION.id,
        severity=Severity.NOTE,
        environments=(),
        services=(),
        locations=(d.location,),
        message=f"the keydrift: ignore comment at {d.location} {what} on its line or the next",
        runtime_effect="None today; it would silence a future finding on that line unseen.",
        fix="remove the comment, or narrow it to the rules still reported there "
            "(`keydrift check --no-inline-ignore` shows what it silenced)",
    )
