"""KD301 placeholder-secret: a secret is a template placeholder ("your-secret-here")."""

from __future__ import annotations

from collections.abc import Iterator

from keydrift.model.types import Model
from keydrift.rules._common import (
    consumers,
    edit_me_files,
    envs_label,
    fp_or_weak,
    judged,
    kind_of,
    literal_location,
    must_share,
    placeholder_of,
    provenance,
    severity_for,
    shared_default_note,
    unique_values,
)
from keydrift.rules.interface import Finding, Rule, Severity
from keydrift.spec import SecretKind


class PlaceholderSecret(Rule):
    id = "KD301"
    name = "placeholder-secret"
    title = "A secret is set to a placeholder value"
    default_severity = Severity.ERROR
    cost = 4

    def check(self, model: Model) -> Iterator[Finding]:
        # Placeholders in templates (.env.example) are the convention: silent. So are those of
        # a tracked "fill me in" env file or manifest, and development passwords, outside
        # production-like environments; except an app's own key that several services share,
        # which every deployment that forgets to edit the file runs with.
        fill_in = edit_me_files(model)
        for a, envs in unique_values(
            model, lambda a: not a.template and model.names.is_secret(a.variable)
            and judged(model, a)
        ):
            assert a.value is not None
            reason = placeholder_of(model, a.value)
            if reason is None:
                continue
            kind = kind_of(model, a.variable)
            users = consumers(model, a)
            shared = shared_default_note(a, users)
            production = severity_for(
                model, envs, production=Severity.ERROR, other=Severity.NOTE
            ) is Severity.ERROR
            if not production and not shared:
                if kind is SecretKind.PASSWORD:
                    continue
                if literal_location(a).path in fill_in and not must_share(model, a, users):
                    continue
            if kind is SecretKind.SIGNING_KEY:
                effect = (
                    "Services deployed from here sign with a guessable value that also differs "
                    "from the real one in your env files or secret store: tokens are rejected by "
                    "the services that have the real key, and anyone can forge tokens for the "
                    "ones that have this one."
                )
            else:
                effect = (
                    f"Services deployed from here use a guessable {kind.noun} instead of the "
                    f"real one: {kind.forgery}."
                )
            severity = (
                Severity.ERROR if shared
                else severity_for(model, envs, production=Severity.ERROR, other=Severity.WARNING)
            )
            yield self.finding(
                environment=envs,
                services=users,
                locations=provenance(a),
                fingerprints=fp_or_weak(model, a.value),
                severity=severity,
                message=(
                    f"{a.variable} ({kind.noun}) at {literal_location(a)} looks like a "
                    f"placeholder in {envs_label(envs)}: {reason}{shared}"
                ),
                runtime_effect=effect,
                fix=(
                    f"replace the literal with a reference to the real {a.variable} (secret "
                    "store or env file); keep placeholders in .env.example only"
                ),
                variable=a.variable,
                steps=a.chain,
            )
