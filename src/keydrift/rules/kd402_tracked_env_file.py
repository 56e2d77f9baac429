"""KD402 tracked-env-file: a git-tracked ``.env`` file holds a real secret."""

from __future__ import annotations

from collections.abc import Iterator

from keydrift.model.types import Assignment, Model
from keydrift.rules._common import fp, is_secret_name, judged, kind_of, unique_assignments
from keydrift.rules.interface import Finding, Rule, Severity
from keydrift.rules.kd401_hardcoded_secret import is_real_secret


class TrackedEnvFile(Rule):
    id = "KD402"
    name = "tracked-env-file"
    title = "A git-tracked env file holds a secret"
    default_severity = Severity.ERROR

    def check(self, model: Model) -> Iterator[Finding]:
        by_file: dict[str, list[Assignment]] = {}
        for a in unique_assignments(
            model,
            lambda a: a.source == "dotenv"
            and a.literal
            and not a.template
            and a.tracked == "tracked"
            and is_secret_name(model, a.variable)
            and judged(model, a)
            and is_real_secret(a),
        ):
            by_file.setdefault(a.location.path, []).append(a)
        for path, items in sorted(by_file.items()):
            variables = sorted({a.variable for a in items})
            envs = sorted({a.environment for a in items if a.environment})
            kinds = sorted({kind_of(model, a.variable) for a in items}, key=str)
            yield self.finding(
                environment=envs,
                services=[],
                locations=[a.location for a in items],
                fingerprints=[fp(model, a.value) for a in items if a.value is not None],
                message=f"{path} is tracked by git and holds {', '.join(variables)}",
                runtime_effect=(
                    "The secrets ship with every clone, fork and CI checkout: "
                    + "; ".join(k.forgery for k in kinds) + "."
                ),
                fix=(
                    f"`git rm --cached {path}`, add it to .gitignore, commit a .env.example "
                    "with placeholders instead, and rotate the secrets it held"
                ),
                variable=",".join(variables),
            )
