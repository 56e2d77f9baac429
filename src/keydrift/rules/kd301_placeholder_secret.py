"""KD301 placeholder-secret: a secret is a template placeholder ("your-secret-here")."""

from __future__ import annotations

from collections.abc import Iterator

from keydrift.model.types import Model
from keydrift.rules._common import (
    by_environment,
    consumers,
    env_label,
    fp,
    is_secret_name,
    literal_location,
    provenance,
    spec_for_variable,
    unique_assignments,
)
from keydrift.rules.interface import Finding, Rule, Severity
from keydrift.strength import placeholder_reason

# A signing secret (a spec's or a preset's variable) breaks tokens; any other secret-like
# variable (a storage key, a password) is a credential anyone can read in the template.
_SIGNING_EFFECT = (
    "Services deployed from here sign with a guessable value that also differs from the real one "
    "in your env files or secret store: tokens are rejected by the services that have the real "
    "key, and anyone can forge tokens for the ones that have this one."
)
_OTHER_EFFECT = (
    "Services deployed from here use a value anyone can read in the template instead of the real "
    "credential: whatever it protects is either broken or open."
)


class PlaceholderSecret(Rule):
    id = "KD301"
    name = "placeholder-secret"
    title = "A secret is set to a placeholder value"
    default_severity = Severity.ERROR

    def check(self, model: Model) -> Iterator[Finding]:
        for a in unique_assignments(
            model, lambda a: not a.template and is_secret_name(model, a.variable)
        ):
            assert a.value is not None
            reason = placeholder_reason(a.value.reveal_text())
            if reason is None:
                continue
            yield self.finding(
                environment=a.environment,
                services=consumers(model, a),
                locations=provenance(a),
                fingerprints=[fp(a.value)],
                severity=by_environment(
                    model, a.environment, production=Severity.ERROR, other=Severity.WARNING
                ),
                message=(
                    f"{a.variable} at {literal_location(a)} looks like a placeholder in "
                    f"{env_label(a.environment)}: {reason}"
                ),
                runtime_effect=_SIGNING_EFFECT if spec_for_variable(model, a.variable)
                else _OTHER_EFFECT,
                fix=(
                    f"replace the literal with a reference to the real {a.variable} (secret "
                    "store or env file); keep placeholders in .env.example only"
                ),
                variable=a.variable,
                steps=a.chain,
            )
