"""KD401 hardcoded-secret: a real secret written literally in a git-tracked file."""

from __future__ import annotations

import re
from collections.abc import Iterator

from keydrift.model.types import Assignment, Model
from keydrift.rules._common import (
    consumers,
    env_label,
    fp,
    is_secret_name,
    literal_location,
    unique_assignments,
)
from keydrift.rules.interface import Finding, Rule, Severity
from keydrift.strength import placeholder_reason

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
    if _DOTTED_NAME.match(value) or _PATH.match(value) or _URL.match(value) or _IDENTIFIER.match(value):
        return False
    return placeholder_reason(value) is None


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
        in_env_files = {literal_location(b) for b in model.assignments if b.source == "dotenv"}
        for a in unique_assignments(
            model,
            lambda a: a.source != "dotenv"
            and literal_location(a) not in in_env_files
            and a.literal
            and not a.template
            and a.tracked == "tracked"
            and is_secret_name(model, a.variable)
            and is_real_secret(a),
        ):
            assert a.value is not None
            kind = _KIND.get(a.source, "a tracked file")
            yield self.finding(
                environment=a.environment,
                services=consumers(model, a),
                locations=[literal_location(a)],
                fingerprints=[fp(a.value)],
                message=(
                    f"{a.variable} ({fp(a.value)}) is written in {kind} tracked by git at "
                    f"{literal_location(a)} ({env_label(a.environment)})"
                ),
                runtime_effect=(
                    "Everyone with read access to the repository, its forks, CI logs and "
                    "backups can sign tokens; the value cannot be rotated without a commit, so "
                    "it drifts from the copy in your secret store."
                ),
                fix=(
                    f"read {a.variable} from the environment or a secret store, rotate the "
                    "leaked value, and purge it from git history"
                ),
                variable=a.variable,
            )
