"""KD201 services-disagree: services that must share a secret resolve to different ones."""

from __future__ import annotations

from collections.abc import Iterator

from keydrift.model.types import Model, Step
from keydrift.rules._common import (
    capped,
    env_label,
    fp_labels,
    has_value,
    literal_location,
    origin_groups,
    service_labels,
    share_sets,
)
from keydrift.rules.interface import Finding, Rule, Severity


class ServicesDisagree(Rule):
    id = "KD201"
    name = "services-disagree"
    title = "Services that must share a secret resolve to different values"
    default_severity = Severity.ERROR

    def check(self, model: Model) -> Iterator[Finding]:
        reported: set[tuple[str, str | None, frozenset[str]]] = set()
        for share in share_sets(model):
            valued = [e for e in share.members if has_value(e.assignment)]
            # Grouped by full fingerprint; shown by label ("weak" values are not fingerprinted).
            shown = fp_labels(model, [e.assignment.value for e in valued
                              if e.assignment is not None and e.assignment.value is not None])
            if len(shown) < 2:
                continue
            # One part per value: "abc…: backend (compose), auth (JWT_SECRET from x:3)".
            groups: dict[str, list[str]] = {}
            labels = service_labels([e.service for e in valued])
            for e, label in zip(valued, labels, strict=True):
                assert e.assignment is not None and e.assignment.value is not None
                groups.setdefault(shown[e.assignment.value.fingerprint], []).append(
                    f"{label} ({e.variable} from {literal_location(e.assignment)})"
                )
            by_fp = list(groups)
            parts = [f"{key} for {capped(users)}" for key, users in groups.items()]
            locations = []
            steps: list[Step] = []
            for e in valued:
                assert e.assignment is not None
                locations.append(literal_location(e.assignment))
                steps.extend(e.assignment.chain)
            reported.add((share.unit, share.environment, frozenset(e.service.name for e in valued)))
            yield self.finding(
                environment=share.environment,
                unit=share.unit,
                services=[e.service.name for e in valued],
                locations=locations,
                fingerprints=by_fp,
                message=(
                    f"{len(by_fp)} different {share.spec.name} secrets in "
                    f"{env_label(share.environment)} ({share.reason}): "
                    + capped(parts, sep="; ", limit=6)
                ),
                runtime_effect=(
                    "Tokens signed by one service fail signature verification in the others "
                    "(401 Invalid signature) as soon as they talk to each other."
                ),
                fix=(
                    "deliver one value to all of them from one source (one env_file or secret "
                    "referenced by every service), then check again"
                ),
                variable=share.spec.name,
                steps=steps,
            )
        yield from self._origins(model, reported)

    def _origins(
        self, model: Model, reported: set[tuple[str, str | None, frozenset[str]]]
    ) -> Iterator[Finding]:
        """Services fed from one origin (``${JWT_SECRET}`` under any name, one YAML anchor, one
        Secret key) must agree; one whose value was replaced (an override, a later env_file, a
        literal) does not."""
        for group in origin_groups(model):
            valued = [(s, a) for s, a in group.members if has_value(a)]
            if len({a.value.fingerprint for _, a in valued if a.value is not None}) < 2:
                continue  # every member agrees: the usual case, decided without labels
            shown = fp_labels(model, [a.value for _, a in valued if a.value is not None])
            by_fp: dict[str, list[str]] = {}
            for service, a in valued:
                assert a.value is not None
                by_fp.setdefault(shown[a.value.fingerprint], []).append(
                    f"{service.name} ({a.variable} from {literal_location(a)})")
            names = frozenset(s.name for s, _ in valued)
            key = (group.unit, group.environment, names)
            if len(by_fp) < 2 or key in reported:
                continue
            reported.add(key)
            parts = [f"{key_fp} for {capped(users)}" for key_fp, users in by_fp.items()]
            steps: list[Step] = []
            for _, a in valued:
                steps.extend(a.chain)
            yield self.finding(
                environment=group.environment,
                unit=group.unit,
                services=names,
                locations=[literal_location(a) for _, a in valued],
                fingerprints=by_fp,
                message=(
                    f"{len(by_fp)} different values for what {group.origin.describe()} delivers "
                    f"as {', '.join(group.variables)} in {env_label(group.environment)}: "
                    + capped(parts, sep="; ", limit=6)
                ),
                runtime_effect=(
                    "These services are configured from one origin, so they are meant to share "
                    "it; the one whose value differs rejects the others' tokens (or cannot "
                    "decrypt their data)."
                ),
                fix=(
                    f"deliver {group.origin.describe()} to every one of them unchanged: remove "
                    "the override, literal or extra env_file that replaces it"
                ),
                variable=group.variables[0],
                steps=steps,
            )
