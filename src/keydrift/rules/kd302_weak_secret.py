"""KD302 weak-secret: too short for its use, low in entropy, or publicly known."""

from __future__ import annotations

from collections.abc import Iterator

from keydrift.model.types import Model
from keydrift.rules._common import (
    consumers,
    envs_label,
    fp_or_weak,
    from_env_template,
    judged,
    kind_of,
    literal_location,
    placeholder_of,
    preset_for_spec,
    provenance,
    severity_for,
    shared_default_note,
    spec_for_variable,
    strength_of,
    unique_values,
)
from keydrift.rules.interface import Finding, Rule, Severity
from keydrift.spec import SecretKind
from keydrift.strength import StrengthProblem

# Below this many bytes an encryption or session key is brute-forceable; passwords are judged
# only against public lists (a short password may be fine behind a private network).
_MIN_KEY_BYTES = 16


class WeakSecret(Rule):
    id = "KD302"
    name = "weak-secret"
    title = "A secret is too short for its use, low in entropy or publicly known"
    default_severity = Severity.ERROR
    cost = 5

    def check(self, model: Model) -> Iterator[Finding]:
        # A weak value in a template is what every copy runs with (placeholders there are
        # the convention and stay silent: KD302 skips them).
        for a, envs in unique_values(
            model, lambda a: (not a.template or from_env_template(a))
            and model.names.is_secret(a.variable) and judged(model, a)
        ):
            assert a.value is not None
            if placeholder_of(model, a.value):
                continue  # KD301 reports it
            spec = spec_for_variable(model, a.variable)
            kind = kind_of(model, a.variable)
            if kind is SecretKind.STATIC_JWT:
                continue  # a token, not a key: KD204 checks what signed it
            if spec is not None and spec.is_hmac and kind is SecretKind.SIGNING_KEY:
                # RFC 7518 section 3.2 lengths apply to HMAC signing keys only.
                report = strength_of(model, a.value, spec.algorithm, min_bytes=spec.min_bytes)
                problems = [p for p in report.problems if p.code != "placeholder"]
                required = report.required
            else:
                report = strength_of(model, a.value)
                wanted = {"known_weak", "public_key"}
                if kind is not SecretKind.PASSWORD:
                    wanted.add("low_entropy")
                problems = [p for p in report.problems if p.code in wanted]
                required = _MIN_KEY_BYTES
                text = a.value.reveal_text()
                if kind in (SecretKind.ENCRYPTION_KEY, SecretKind.SESSION_KEY) and (
                    text.isalpha() and text.islower() and len(text) < 32 and not problems
                ):
                    # "supabaserealtime": words, not random bytes; a dictionary attack finds it.
                    problems.append(StrengthProblem(
                        "low_entropy", "only lower-case letters: words, not random bytes"))
                if kind in (SecretKind.ENCRYPTION_KEY, SecretKind.SESSION_KEY) and (
                    len(a.value) < _MIN_KEY_BYTES
                ):
                    problems.append(StrengthProblem(
                        "too_short", f"{len(a.value)} bytes; a {kind.noun} needs at least "
                        f"{_MIN_KEY_BYTES} random bytes"))
            if not problems:
                continue
            messages = [
                "in a public list of known secrets and passwords" if p.code == "known_weak"
                else p.message
                for p in problems
            ]
            preset = preset_for_spec(spec) if spec is not None else None
            known = any(p.code == "known_weak" for p in problems)
            if preset is not None and preset.is_public_default(a.value):
                effect = f"This is {preset.title}'s published default: {kind.forgery}."
                if preset.unset_behaviour and not preset.generates_when_unset:
                    effect += f" ({preset.title}: {preset.unset_behaviour}.)"
            elif known:
                effect = f"The value is in a public list of known secrets: {kind.forgery}."
            elif kind is SecretKind.SIGNING_KEY:
                effect = "An attacker who captures one token can brute-force the key offline."
            else:
                effect = f"The value can be guessed or brute-forced: {kind.forgery}."
            users = consumers(model, a)
            shared = shared_default_note(a, users)
            if (
                kind is SecretKind.PASSWORD and not shared
                and severity_for(model, envs, production=Severity.ERROR, other=Severity.NOTE)
                is Severity.NOTE
            ):
                continue  # a development database password in a development set-up
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
                    f"{a.variable} ({kind.noun}) at {literal_location(a)} is weak in "
                    f"{envs_label(envs)}: " + "; ".join(messages) + shared
                ),
                runtime_effect=effect,
                fix=(
                    f"replace it with `keydrift generate` output ({required}+ random "
                    "bytes) and rotate it"
                ),
                variable=a.variable,
                steps=a.chain,
            )
