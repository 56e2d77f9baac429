"""KD302 weak-secret: too short for the algorithm, low entropy, or publicly known."""

from __future__ import annotations

from collections.abc import Iterator

from keydrift.model.types import Model
from keydrift.rules._common import (
    by_environment,
    consumers,
    env_label,
    fp,
    literal_location,
    preset_for_spec,
    provenance,
    spec_for_variable,
    unique_assignments,
)
from keydrift.rules.interface import Finding, Rule, Severity
from keydrift.strength import check_strength, placeholder_reason


class WeakSecret(Rule):
    id = "KD302"
    name = "weak-secret"
    title = "A signing secret is too short, low in entropy or publicly known"
    default_severity = Severity.ERROR

    def check(self, model: Model) -> Iterator[Finding]:
        for a in unique_assignments(model, lambda a: not a.template):
            spec = spec_for_variable(model, a.variable)
            if spec is None:
                continue  # RFC 7518 lengths apply to signing keys, not to every password
            assert a.value is not None
            if placeholder_reason(a.value.reveal_text()):
                continue  # KD301 reports it
            if not a.value:
                continue  # resolvers treat "" as unset; KD101 reports services left without one
            report = check_strength(a.value, spec.algorithm if spec.is_hmac else "HS256",
                                    min_bytes=spec.min_bytes)
            problems = [p for p in report.problems if p.code != "placeholder"]
            if not problems:
                continue
            preset = preset_for_spec(spec)
            known = any(p.code == "known_weak" for p in problems)
            if preset is not None and preset.is_public_default(a.value):
                effect = f"This is {preset.title}'s published default: anyone can forge sessions"
                if preset.id == "superset":
                    effect += ", and Superset refuses to start with it outside debug mode"
                effect += "."
            elif known:
                effect = "Anyone with the public list can sign tokens your services accept."
            else:
                effect = "An attacker who captures one token can brute-force the key offline."
            yield self.finding(
                environment=a.environment,
                services=consumers(model, a),
                locations=provenance(a),
                fingerprints=[fp(a.value)],
                severity=by_environment(
                    model, a.environment, production=Severity.ERROR, other=Severity.WARNING
                ),
                message=(
                    f"{a.variable} at {literal_location(a)} is weak in "
                    f"{env_label(a.environment)}: " + "; ".join(p.message for p in problems)
                ),
                runtime_effect=effect,
                fix=(
                    f"replace it with `keydrift generate` output ({report.required}+ random "
                    "bytes) and rotate it"
                ),
                variable=a.variable,
                steps=a.chain,
            )
