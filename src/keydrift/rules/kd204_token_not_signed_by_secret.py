"""KD204 token-not-signed-by-secret: a static JWT in the configuration does not verify with the
secret its deployment verifies with (or is unsigned, or expired)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from keydrift.model.types import Assignment, Location, Model
from keydrift.rules._common import (
    consumers,
    envs_label,
    fp,
    join,
    judged,
    kind_of,
    literal_location,
    unique_values,
)
from keydrift.rules.interface import Finding, Rule, Severity
from keydrift.secret import SecretValue
from keydrift.spec import HMAC_ALGORITHMS, SecretKind

# Reading a header or claims is bounded: a static token in configuration is a few hundred bytes.
_MAX_TOKEN = 16 * 1024


@dataclass
class _Key:
    value: SecretValue
    where: Location
    variable: str
    units: frozenset[str]


class TokenNotSignedBySecret(Rule):
    id = "KD204"
    name = "token-not-signed-by-secret"
    title = "A static token in the configuration is not signed by the deployment's secret"
    default_severity = Severity.ERROR

    def check(self, model: Model) -> Iterator[Finding]:
        tokens = list(unique_values(model, _looks_like_jwt))
        if not tokens:
            return
        import jwt  # PyJWT loads only when the configuration holds a token

        keys = _signing_keys(model)
        unit_of = {s.name: s.unit for s in model.services}
        for a, envs in tokens:
            assert a.value is not None
            token = a.value.reveal_text().strip()
            try:
                header = jwt.get_unverified_header(token)
            except jwt.PyJWTError:
                continue
            alg = header.get("alg")
            users = consumers(model, a)
            units = {unit_of[u] for u in users if u in unit_of}
            where = literal_location(a)
            label = f"{a.variable} ({SecretKind.STATIC_JWT.noun}) at {where}"
            if not isinstance(alg, str) or alg.lower() == "none":
                yield self._finding(a, envs, users, f"{label} is unsigned (alg: none)",
                                    "Any service that accepts it accepts tokens anyone can make.")
                continue
            if alg not in HMAC_ALGORITHMS:
                continue  # signed with a private key: checked against a JWKS by explain
            expected = [k for k in keys if k.units & units] if units else []
            if expected and not any(_verifies(token, k.value, alg) for k in expected):
                other = next((k for k in keys if k not in expected
                              and _verifies(token, k.value, alg)), None)
                signer = (f"; it verifies with {other.variable} at {other.where} "
                          f"({fp(model, other.value)})" if other is not None else
                          "; no secret in the checked files verifies it")
                by_value: dict[str, list[str]] = {}
                for k in expected:
                    by_value.setdefault(fp(model, k.value), []).append(k.variable)
                wanted = join(f"{key} (as {join(sorted(set(names)))})"
                              for key, names in by_value.items())
                yield self._finding(
                    a, envs, users,
                    f"{label}, delivered to {join(users)}, does not verify with {wanted}, "
                    f"the secret its deployment verifies with{signer}",
                    "Every request carrying this key is rejected (401 invalid signature): "
                    "the secret was changed without re-signing the static keys, or the keys "
                    "were copied from another deployment.",
                )
                continue
            exp = _exp(token)
            if exp is not None and exp < time.time():
                yield self._finding(
                    a, envs, users, f"{label} has expired ({time.strftime('%Y-%m-%d', time.gmtime(exp))})",
                    "Every request carrying this key is rejected (401 token expired).",
                    severity=Severity.ERROR,
                )

    def _finding(
        self,
        a: Assignment,
        envs: tuple[str, ...],
        users: tuple[str, ...],
        message: str,
        effect: str,
        severity: Severity | None = None,
    ) -> Finding:
        return self.finding(
            environment=envs,
            services=users,
            locations=[literal_location(a)],
            message=f"{message} in {envs_label(envs)}",
            runtime_effect=effect,
            fix=("sign the static keys again with the deployment's secret (the app's key "
                 "generator does all of them together) and deliver secret and keys from one place"),
            variable=a.variable,
            steps=a.chain,
            severity=severity,
        )


def _looks_like_jwt(a: Assignment) -> bool:
    if a.value is None or len(a.value) > _MAX_TOKEN:
        return False
    text = a.value.reveal_text().strip()
    return text.startswith("eyJ") and text.count(".") == 2


def _signing_keys(model: Model) -> list[_Key]:
    """Every distinct signing-key value delivered to services, with the units that use it."""
    found: dict[tuple[str, str], _Key] = {}
    for service in model.services:
        for a in service.env.values():
            if a.value is None or not judged(model, a):
                continue
            if kind_of(model, a.variable) is not SecretKind.SIGNING_KEY:
                continue
            key = (a.value.fingerprint, a.variable)
            entry = found.setdefault(
                key, _Key(a.value, literal_location(a), a.variable, frozenset())
            )
            entry.units = entry.units | {service.unit}
    # Secrets written in files no service reads (a template, another environment's env file)
    # can still say who signed a token.
    for a in model.assignments:
        if a.value is not None and judged(model, a) and a.service is None and (
            kind_of(model, a.variable) is SecretKind.SIGNING_KEY
        ):
            found.setdefault((a.value.fingerprint, a.variable),
                             _Key(a.value, literal_location(a), a.variable, frozenset()))
    return list(found.values())


def _verifies(token: str, key: SecretValue, alg: str) -> bool:
    import warnings

    import jwt

    try:
        # PyJWT warns on stderr about short HMAC keys; KD302 reports those, with the file.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
            jwt.decode(token, key.reveal(), algorithms=[alg],
                       options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                                "verify_aud": False, "verify_iss": False})
    except jwt.PyJWTError:
        return False
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def _exp(token: str) -> float | None:
    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    exp = claims.get("exp")
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None
