"""KD101 missing-secret: a service that needs a secret has none in an environment."""

from __future__ import annotations

from collections.abc import Iterator

from keydrift.model.types import Model, Step
from keydrift.rules._common import (
    envs_label,
    join,
    key_volume,
    literal_location,
    missing_sets,
    severity_for,
)
from keydrift.rules.interface import Finding, Rule, Severity


class MissingSecret(Rule):
    id = "KD101"
    name = "missing-secret"
    title = "A service that needs a secret has none in this environment"
    default_severity = Severity.ERROR

    def check(self, model: Model) -> Iterator[Finding]:
        for ms in missing_sets(model):
            if (ms.generates and ms.processes + min(len(ms.agreeing), 1) >= 2) or ms.written_once:
                continue  # several processes that each make up a key: KD102 says it once
            names = [e.service.name for e in ms.missing]
            wanted = " / ".join(ms.spec.variables_for(ms.environments[0] if ms.environments else None)
                                or ms.spec.variables)
            locations = [e.service.location for e in ms.missing]
            steps: list[Step] = []
            empty = [e for e in ms.missing if e.assignment is not None]
            for e in empty:
                assert e.assignment is not None
                locations.append(literal_location(e.assignment))
                steps.extend(e.assignment.chain)
            plural = len(names) > 1
            state = (f"set{'' if plural else 's'} {empty[0].variable} to an empty string" if empty
                     else f"set{'' if plural else 's'} none of {wanted}")
            verb = "services" if plural else "service"
            message = f"{verb} {join(names)} {state} in {envs_label(ms.environments)}"
            severity = Severity.ERROR
            volume = key_volume(ms.preset, ms.spec, (e.service for e in ms.missing))
            if ms.preset is not None:
                effect = f"If it is unset, {ms.preset.unset_behaviour}."
                if ms.generates and volume:
                    # One process keeping its generated key on a persistent volume: the app's
                    # documented default. The key lives as long as the volume does.
                    severity = Severity.NOTE
                    message += (f"; its generated key is kept on volume {volume}, which must be "
                                "backed up with the data it protects")
                    effect = (f"{ms.preset.title} generates the key once and keeps it on "
                              f"{volume}: losing the volume loses the key.")
                elif ms.generates or ms.preset.unset_uses_public_default:
                    severity = severity_for(model, ms.environments, production=Severity.ERROR,
                                            other=Severity.WARNING)
            else:
                effect = (
                    "The service starts without a secret: keydrift.resolve raises "
                    "MissingSecretError, and apps with a fallback generate a random key per "
                    "process or use a default, so tokens fail to verify or can be forged."
                )
            fix = (
                f"set {ms.variable} for {join(names)} from one shared source (an env_file, a "
                "Docker/Kubernetes secret or your deploy tool's secret store); create the "
                "value with `keydrift generate`"
            )
            if severity is Severity.NOTE:
                fix = (f"back up volume {volume}, or set {ms.variable} explicitly so the key "
                       "does not depend on it")
            yield self.finding(
                environment=ms.environments,
                services=names,
                locations=locations,
                message=message,
                runtime_effect=effect,
                fix=fix,
                variable=ms.variable,
                steps=steps,
                severity=severity,
                unit=ms.unit,
            )
