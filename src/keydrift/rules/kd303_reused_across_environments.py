"""KD303 reused-across-environments: one secret value in two environments."""

from __future__ import annotations

from collections.abc import Iterator

from keydrift.model.types import Assignment, Location, Model
from keydrift.rules._common import (
    fp,
    is_production_like,
    is_secret_name,
    literal_location,
    placeholder_of,
    unique_assignments,
)
from keydrift.rules.interface import Finding, Rule, Severity


class ReusedAcrossEnvironments(Rule):
    id = "KD303"
    name = "reused-across-environments"
    title = "The same secret is used in several environments"
    default_severity = Severity.ERROR
    cost = 2

    def check(self, model: Model) -> Iterator[Finding]:
        by_value: dict[str, list[Assignment]] = {}
        for a in unique_assignments(
            model,
            lambda a: a.environment is not None
            and not a.template
            and is_secret_name(model, a.variable),
        ):
            assert a.value is not None
            if not a.value or placeholder_of(model, a.value):
                continue  # placeholders are KD301's; reusing one adds nothing
            by_value.setdefault(a.value.fingerprint, []).append(a)
        for items in by_value.values():
            envs = sorted({a.environment for a in items if a.environment})
            if len(envs) < 2:
                continue
            first: dict[str, Location] = {}
            for a in items:
                assert a.environment is not None
                first.setdefault(a.environment, literal_location(a))
            variables = sorted({a.variable for a in items})
            value = items[0].value
            assert value is not None
            yield self.finding(
                environment=envs,
                services=[a.service for a in items if a.service],
                locations=[first[e] for e in envs],
                fingerprints=[fp(model, value)],
                severity=Severity.ERROR if any(is_production_like(model, e) for e in envs) else Severity.NOTE,
                message=(
                    f"{' / '.join(variables)} holds the same secret ({fp(model, value)}) in "
                    f"{len(envs)} environments: " + ", ".join(f"{e} ({first[e]})" for e in envs)
                ),
                runtime_effect=(
                    "A token issued in one environment is accepted in the others, and a leak "
                    "of the less protected environment's key compromises the other one."
                ),
                fix="generate a separate secret per environment with `keydrift generate`",
                variable=variables[0],
                steps=[s for a in items for s in a.chain],
            )
