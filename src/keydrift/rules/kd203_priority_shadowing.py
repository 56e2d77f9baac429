"""KD203 priority-shadowing: a higher-priority variable hides the one a sibling service reads."""

from __future__ import annotations

from collections.abc import Iterator

from keydrift.model.types import Effective, Model
from keydrift.rules._common import (
    capped,
    env_label,
    fp_labels,
    has_value,
    literal_location,
    share_sets,
)
from keydrift.rules.interface import Finding, Rule, Severity


class PriorityShadowing(Rule):
    id = "KD203"
    name = "priority-shadowing"
    title = "A higher-priority variable shadows the one a sibling service reads"
    default_severity = Severity.ERROR

    def check(self, model: Model) -> Iterator[Finding]:
        for share in share_sets(model):
            valued = [e for e in share.members if has_value(e.assignment) and e.variable]
            # Index siblings by the variable they use, so each shadowing service is compared
            # only with the services reading what it shadows (linear in the set's size).
            by_variable: dict[str, list[Effective]] = {}
            for e in valued:
                assert e.variable is not None
                by_variable.setdefault(e.variable, []).append(e)
            for a in valued:
                assert a.assignment is not None and a.assignment.value is not None
                va = a.assignment.value
                for hidden in a.shadowed:
                    siblings = [
                        b
                        for b in by_variable.get(hidden.variable, [])
                        if b.service is not a.service
                        and b.assignment is not None
                        and b.assignment.value is not None
                        and not b.assignment.value.equals(va)
                    ]
                    if siblings:
                        yield self._finding(model, share.environment, a, hidden.variable, siblings)

    def _finding(self, model: Model, environment: str | None, a: Effective, shadowed_variable: str,
                 siblings: list[Effective]) -> Finding:
        assert a.assignment is not None and a.assignment.value is not None
        va = a.assignment.value
        names = [b.service.name for b in siblings]
        shown = fp_labels(model, [va, *(b.assignment.value for b in siblings
                                 if b.assignment is not None and b.assignment.value is not None)])
        mine = shown[va.fingerprint]
        others = sorted(label for key, label in shown.items() if key != va.fingerprint)
        return self.finding(
            environment=environment,
            services=[a.service.name, *names],
            locations=[
                literal_location(a.assignment),
                *(literal_location(s) for s in a.shadowed if s.variable == shadowed_variable),
                *(literal_location(b.assignment) for b in siblings if b.assignment is not None),
            ],
            fingerprints=[mine, *others],
            message=(
                f"in {env_label(environment)}, {a.service.name} uses {a.variable} ({mine}), "
                f"which shadows the {shadowed_variable} that {capped(names)} "
                f"use{'s' if len(names) == 1 else ''} ({', '.join(others)})"
            ),
            runtime_effect=(
                f"{a.service.name} and {capped(names)} sign and verify with different keys: "
                "tokens from one are rejected by the other, although all seem to be configured "
                f"with {shadowed_variable}."
            ),
            fix=(
                f"set {a.variable} to the same value everywhere, or remove it from "
                f"{a.service.name} so that {shadowed_variable} wins there too"
            ),
            variable=f"{a.variable}>{shadowed_variable}",
            steps=[*a.assignment.chain, *(s for b in siblings if b.assignment
                                          for s in b.assignment.chain)],
        )
