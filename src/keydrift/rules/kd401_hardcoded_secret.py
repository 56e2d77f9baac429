"""KD401 hardcoded-secret: a real secret written literally in a git-tracked file."""

from __future__ import annotations

import re
from collections.abc import Iterator

from keydrift.model.types import Assignment, Model
from keydrift.rules._common import (
    consumers,
    envs_label,
    fp,
    judged,
    kind_of,
    literal_location,
    looks_generated,
    random_looking,
    severity_for,
    shared_default_note,
    strength_of,
    unique_values,
)
from keydrift.rules.interface import Finding, Rule, Severity
from keydrift.spec import SecretKind
from keydrift.strength import is_guessable, placeholder_reason

_KIND = {
    "python": "Python code",
    "shell": "a shell script",
    "compose": "a compose file",
    "kubernetes": "a Kubernetes manifest",
}


# Values that are names of things, not secrets: module paths ("keydrift.spec"), entry points
# ("pkg.mod:obj"), file paths and URLs without credentials. Code maps secret-like *names* to
# such values all the time (export tables, settings that point at a key file).
_DOTTED_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:[.:][A-Za-z_][A-Za-z0-9_]*)+$")
_PATH = re.compile(r"^(?:\.{0,2}/|~/|[A-Za-z]:\\)|^[\w.-]+/[\w./-]*$")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^@]*$", re.IGNORECASE)
# Identifiers such as "keydrift_claims", "argument" or "STATE_KEY": words joined by separators,
# no digits. Code names things with secret-like names all the time; a secret has randomness.
_IDENTIFIER = re.compile(r"^(?:[a-z]+(?:[_.-][a-z]+)*|[A-Z]+(?:[_.-][A-Z]+)*)$")
MIN_SECRET_CHARS = 8


def looks_like_secret(text: str) -> bool:
    """Could ``text`` be a real secret (as opposed to a placeholder, name, path or sentence)?"""
    value = text.strip()
    if len(value) < MIN_SECRET_CHARS or any(c.isspace() for c in value):
        return False
    if looks_generated(value) and not is_guessable(value):
        return True  # base64 may contain '/' and look like a path
    if _DOTTED_NAME.match(value) or _PATH.match(value) or _URL.match(value) or _IDENTIFIER.match(value):
        return False
    return placeholder_reason(value) is None


def _weak(model: Model, a: Assignment) -> bool:
    assert a.value is not None
    report = strength_of(model, a.value)
    return report.has("known_weak") or report.has("low_entropy")


def is_real_secret(a: Assignment) -> bool:
    """A literal that looks like a real secret: worth protecting."""
    return a.value is not None and looks_like_secret(a.value.reveal_text())


class HardcodedSecret(Rule):
    id = "KD401"
    name = "hardcoded-secret"
    title = "A real secret is written literally in a git-tracked file"
    default_severity = Severity.ERROR

    def check(self, model: Model) -> Iterator[Finding]:
        # Tracked env files are KD402's, also when a compose service reads one through env_file:
        # the literal then sits in the env file even though the assignment is the service's.
        # A template (.env.example) is different: every copy of it shares its values.
        in_env_files = {
            literal_location(b) for b in model.assignments if b.source == "dotenv" and not b.template
        }
        reported: set[str] = set()
        values = list(unique_values(
            model,
            lambda a: literal_location(a) not in in_env_files
            and a.literal
            and a.tracked == "tracked"
            # env templates are shared by every copy; test code holds fixtures
            and (a.template == (a.source == "dotenv"))
            and model.names.is_secret(a.variable)
            and judged(model, a)
            and is_real_secret(a),
        ))
        for a, envs in values:
            assert a.value is not None
            kind = kind_of(model, a.variable)
            if kind is SecretKind.STATIC_JWT:
                continue  # a pre-signed token: KD204 checks its signer
            if (a.template or a.default) and not random_looking(model, a.value):
                continue  # a weak or word-like default is KD301/KD302's, not a leaked key
            if not a.template and not a.default and _weak(model, a):
                continue  # a known-weak or low-entropy literal is KD302's
            if (
                kind is SecretKind.PASSWORD and not random_looking(model, a.value)
                and severity_for(model, envs, production=Severity.ERROR, other=Severity.NOTE)
                is Severity.NOTE
            ):
                continue  # a development database password in a development set-up
            if a.value.fingerprint in reported:
                continue  # one value written in several places is one leak
            same = [b for b, _ in values if b.value is not None
                    and b.value.fingerprint == a.value.fingerprint]
            reported.add(a.value.fingerprint)
            users = consumers(model, a)
            where = literal_location(a)
            if a.template:
                message = (
                    f"{a.variable} ({kind.noun}, {fp(model, a.value)}) in the tracked template "
                    f"{where.path} looks like a real secret: every copy made with "
                    f"`cp {where.path} ...` shares it"
                )
                effect = (f"Every deployment that follows the documented set-up runs with this "
                          f"public value: {kind.forgery}.")
                fix = (f"replace it in {where.path} with a placeholder and tell users to "
                       "generate their own (`keydrift generate`)")
            elif a.default:
                message = (
                    f"{a.variable} ({kind.noun}, {fp(model, a.value)}) has a literal default at "
                    f"{where}" + shared_default_note(a, users)
                )
                effect = (f"Every deployment that leaves the variable unset runs with this public "
                          f"value: {kind.forgery}.")
                fix = ("remove the default (use ${VAR:?set VAR} so compose refuses to start "
                       "without it) and rotate the value")
            else:
                message = (
                    f"{a.variable} ({kind.noun}, {fp(model, a.value)}) is written in "
                    f"{_KIND.get(a.source, 'a tracked file')} tracked by git at {where} "
                    f"({envs_label(envs)})"
                )
                effect = (
                    "Everyone with read access to the repository, its forks, CI logs and "
                    f"backups has it ({kind.forgery}); the value cannot be rotated without a "
                    "commit, so it drifts from the copy in your secret store."
                )
                fix = (f"read {a.variable} from the environment or a secret store, rotate the "
                       "leaked value, and purge it from git history")
            if len(same) > 1:
                message += "; the same value is also written at " + ", ".join(
                    str(literal_location(b)) for b in same if b is not a)
                users = tuple(sorted({u for b in same for u in consumers(model, b)}))
            yield self.finding(
                environment=envs,
                services=users,
                locations=[literal_location(b) for b in same],
                fingerprints=[fp(model, a.value)],
                message=message,
                runtime_effect=effect,
                fix=fix,
                variable=a.variable,
            )
