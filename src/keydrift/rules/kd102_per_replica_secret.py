"""KD102 per-replica-secret: several processes must agree but no shared secret is set."""

from __future__ import annotations

from collections.abc import Iterator

from keydrift.model.types import Model
from keydrift.rules._common import (
    code_sets,
    describe_processes,
    envs_label,
    join,
    key_volume,
    missing_sets,
)
from keydrift.rules.interface import Finding, Rule, Severity


class PerReplicaSecret(Rule):
    id = "KD102"
    name = "per-replica-secret"
    title = "Several processes must share a secret but each would generate its own"
    default_severity = Severity.ERROR

    def check(self, model: Model) -> Iterator[Finding]:
        for ms in missing_sets(model):
            # One process, or an app that refuses to start (or runs with an empty key): KD101.
            if not ms.generates or ms.processes + min(len(ms.agreeing), 1) < 2 or ms.written_once:
                continue
            names = [e.service.name for e in ms.missing]
            counts = join(f"{e.service.name}: {describe_processes(e.service)}" for e in ms.missing)
            variable = ms.variable
            where = f"in {envs_label(ms.environments)}"
            head = f"{ms.processes} processes ({counts}) have no shared {variable} {where}"
            if ms.agreeing:
                verb = "sets" if len(ms.agreeing) == 1 else "set"
                head += f", while {join(ms.agreeing)} {verb} one"
            volume = key_volume(ms.preset, ms.spec, (e.service for e in ms.missing))
            if ms.preset is not None:
                effect = f"If it is unset, {ms.preset.unset_behaviour}."
                if volume:
                    effect += (f" They all mount volume {volume} there, but processes starting "
                               "together can each write a key before reading the other's.")
            else:
                effect = (
                    "Each process generates or defaults its own key, so a token issued by one "
                    "process is rejected by the others: logins fail at random, depending on "
                    "which replica the load balancer picks."
                )
            yield self.finding(
                environment=ms.environments,
                services=names,
                locations=[e.service.location for e in ms.missing],
                message=head,
                runtime_effect=effect,
                fix=(
                    f"set {variable} once (one env_file or secret) and give the same value to "
                    f"every process of {join(names)}"
                ),
                variable=variable,
                unit=ms.unit,
            )
        for cs in code_sets(model):
            if cs.processes < 2:
                continue
            code = cs.code
            names = [s.name for s in cs.services]
            counts = join(f"{s.name}: {describe_processes(s)}" for s in cs.services)
            what = (f"reads {code.variable} with a random fallback ({code.expression})"
                    if code.variable else f"generates a key at import time ({code.expression})")
            unset = f", and {code.variable} is not set for them" if code.variable else ""
            yield self.finding(
                environment=sorted({s.environment for s in cs.services if s.environment}),
                services=names,
                locations=[code.location, *(s.location for s in cs.services)],
                message=(f"{code.location} {what}; it runs in {cs.processes} processes "
                         f"({counts}){unset}"),
                runtime_effect=(
                    "Every process makes up its own key at start-up, so a token or session "
                    "signed by one process is rejected by the others and by the next restart."
                ),
                fix=(f"set {code.variable} once for every process of {join(names)} and remove "
                     "the random fallback (fail at start-up instead)" if code.variable else
                     "read the key from the environment (one value for every process) instead "
                     "of generating it at import"),
                variable=code.variable,
                unit=cs.unit,
            )
