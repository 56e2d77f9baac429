"""KD304 invalid-format: a value breaks its app's format rule (e.g. Langflow's Fernet keys)."""

from __future__ import annotations

from collections.abc import Iterator

from keydrift.model.types import Assignment, Model
from keydrift.presets.interface import all_presets
from keydrift.rules._common import (
    consumers,
    env_label,
    fp,
    literal_location,
    provenance,
    unique_assignments,
)
from keydrift.rules.interface import Finding, Rule, Severity


class InvalidFormat(Rule):
    id = "KD304"
    name = "invalid-format"
    title = "A secret breaks its app's format rule"
    default_severity = Severity.ERROR

    def check(self, model: Model) -> Iterator[Finding]:
        written: list[Assignment] | None = None  # every non-template value, listed once
        for preset in all_presets():
            # Values the app's services use, plus (for app-specific names) every assignment.
            wanted: list[Assignment] = [
                e.assignment
                for e in model.effective
                if e.spec.name == preset.id and e.assignment is not None
            ]
            if preset.variables_are_unique:
                if written is None:
                    written = list(unique_assignments(model, lambda a: not a.template))
                names = frozenset(preset.variables)
                wanted.extend(a for a in written if a.variable in names)
            seen: set[tuple[str, object]] = set()
            for a in wanted:
                if a.value is None or not a.value or a.template:
                    continue
                key = (a.value.fingerprint, literal_location(a))
                if key in seen:
                    continue
                seen.add(key)
                problem = preset.format_rule(a.value)
                if problem is None:
                    continue
                yield self.finding(
                    environment=a.environment,
                    services=consumers(model, a),
                    locations=provenance(a),
                    fingerprints=[fp(model, a.value)],
                    message=(
                        f"{a.variable} at {literal_location(a)} is not a valid {preset.title} "
                        f"key in {env_label(a.environment)}: {problem}"
                    ),
                    runtime_effect=(
                        f"{preset.title} fails at start-up or when it first uses the key."
                    ),
                    fix=(
                        f"generate a key in {preset.title}'s format"
                        + (f": {preset.format_hint}" if preset.format_hint else "")
                        + f" (see {preset.docs_url})"
                    ),
                    variable=a.variable,
                    steps=a.chain,
                )
