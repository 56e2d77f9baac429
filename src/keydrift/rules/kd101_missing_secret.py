"""KD101 missing-secret: a service that needs a secret has none in an environment."""

from __future__ import annotations

from collections.abc import Iterator

from keydrift.model.types import Model
from keydrift.rules._common import env_label, is_missing, literal_location, preset_for_spec
from keydrift.rules.interface import Finding, Rule, Severity


class MissingSecret(Rule):
    id = "KD101"
    name = "missing-secret"
    title = "A service that needs a secret has none in this environment"
    default_severity = Severity.ERROR

    def check(self, model: Model) -> Iterator[Finding]:
        for e in model.effective:
            if not is_missing(e):
                continue
            names = e.spec.variables_for(e.environment) or e.spec.variables
            wanted = " / ".join(names)
            preset = preset_for_spec(e.spec)
            locations = [e.service.location]
            if e.assignment is not None:
                state = f"sets {e.variable} to an empty string"
                locations.append(literal_location(e.assignment))
            else:
                state = f"sets none of {wanted}"
            if preset is not None:
                effect = f"If it is unset, {preset.unset_behaviour}."
            else:
                effect = (
                    "The service starts without a signing secret: keydrift.resolve raises "
                    "MissingSecretError, and apps with a fallback generate a random key per "
                    "process or use a default, so tokens fail to verify or can be forged."
                )
            yield self.finding(
                environment=e.environment,
                services=[e.service.name],
                locations=locations,
                message=f"service {e.service.name} {state} in {env_label(e.environment)}",
                runtime_effect=effect,
                fix=(
                    f"set {names[0]} for {e.service.name} from one shared source (an env_file, "
                    "a Docker/Kubernetes secret or your deploy tool's secret store); create "
                    "the value with `keydrift generate`"
                ),
                variable=names[0],
                steps=e.assignment.chain if e.assignment is not None else (),
            )
