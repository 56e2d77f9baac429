"""KD102 per-replica-secret: several processes must agree but no shared secret is set."""

from __future__ import annotations

from collections.abc import Iterator

from keydrift.model.types import Effective, Model
from keydrift.presets.interface import Preset
from keydrift.rules._common import env_label, is_missing, join, preset_for_spec, share_sets
from keydrift.rules.interface import Finding, Rule, Severity


class PerReplicaSecret(Rule):
    id = "KD102"
    name = "per-replica-secret"
    title = "Several processes must share a secret but each would generate its own"
    default_severity = Severity.ERROR

    def check(self, model: Model) -> Iterator[Finding]:
        reported: set[tuple[str | None, str, str]] = set()
        for share in share_sets(model):
            missing = [e for e in share.members if is_missing(e) and _generates(share.preset)]
            if not missing:
                continue
            # Processes that would each make up a key; one agreeing service adds one more view.
            processes = sum(_processes(e) for e in missing)
            if processes + min(len(share.members) - len(missing), 1) < 2:
                continue
            reported.update((share.environment, share.spec.name, e.service.name) for e in missing)
            agreeing = [e.service.name for e in share.members if not is_missing(e)]
            yield self._finding(missing, share.environment, processes, share.reason, share.preset,
                                agreeing)
        # Replicated services outside every share-set (configured groups that leave them out).
        for e in model.effective:
            key = (e.environment, e.spec.name, e.service.name)
            preset = preset_for_spec(e.spec)
            if key in reported or not is_missing(e) or not _generates(preset):
                continue
            if _processes(e) >= 2:
                reported.add(key)
                yield self._finding([e], e.environment, _processes(e), "replicated", preset)

    def _finding(
        self,
        missing: list[Effective],
        environment: str | None,
        processes: int,
        reason: str,
        preset: Preset | None,
        agreeing: list[str] | None = None,
    ) -> Finding:
        spec = missing[0].spec
        variable = (spec.variables_for(environment) or spec.variables)[0]
        names = [e.service.name for e in missing]
        counts = join(f"{e.service.name}: {_describe(e)}" for e in missing)
        if preset is not None:
            effect = f"If it is unset, {preset.unset_behaviour}."
        else:
            effect = (
                "Each process generates or defaults its own signing key, so a token issued by "
                "one process is rejected by the others: logins fail at random, depending on "
                "which replica the load balancer picks."
            )
        return self.finding(
            environment=environment,
            services=names,
            locations=[e.service.location for e in missing],
            message=_message(processes, counts, names, agreeing or [], variable, environment,
                             reason),
            runtime_effect=effect,
            fix=(
                f"set {variable} once (one env_file or secret) and give the same value to every "
                f"process of {join(names)}"
            ),
            variable=variable,
        )


def _message(
    processes: int,
    counts: str,
    names: list[str],
    agreeing: list[str],
    variable: str,
    environment: str | None,
    reason: str,
) -> str:
    where = f"in {env_label(environment)} ({reason})"
    if processes == 1:
        head = f"{names[0]} has no {variable} {where}"
    else:
        head = f"{processes} processes ({counts}) have no shared {variable} {where}"
    if agreeing:
        verb = "sets" if len(agreeing) == 1 else "set"
        head += f", while {join(agreeing)} {verb} one"
    return head


def _generates(preset: Preset | None) -> bool:
    """Apps that refuse to start when unset (Superset) are KD101's, not this rule's."""
    return preset is None or preset.generates_when_unset


def _describe(e: Effective) -> str:
    """``3 replicas``, ``1 replica x 4 workers``, ``shared state``."""
    svc = e.service
    if svc.shares_state:
        return "shares its state volume"
    text = f"{svc.replicas} replica{'s' if svc.replicas != 1 else ''}"
    if svc.workers > 1:
        text += f" x {svc.workers} workers"
    return text


def _processes(e: Effective) -> int:
    # A shared config volume (Langflow's config dir) makes replicas share the generated key.
    return 1 if e.service.shares_state else e.service.processes
