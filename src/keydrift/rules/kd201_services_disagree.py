"""KD201 services-disagree: services that must share a secret resolve to different ones."""

from __future__ import annotations

from collections.abc import Iterator

from keydrift.model.types import Model, Step
from keydrift.rules._common import (
    capped,
    env_label,
    fp,
    has_value,
    literal_location,
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
        for share in share_sets(model):
            valued = [e for e in share.members if has_value(e.assignment)]
            by_fp: dict[str, list[str]] = {}
            for e in valued:
                assert e.assignment is not None and e.assignment.value is not None
                by_fp.setdefault(fp(e.assignment.value), []).append(e.service.name)
            if len(by_fp) < 2:
                continue
            # One part per fingerprint: "abc…: backend (compose), auth (JWT_SECRET from x:3)".
            groups: dict[str, list[str]] = {}
            labels = service_labels([e.service for e in valued])
            for e, label in zip(valued, labels, strict=True):
                assert e.assignment is not None and e.assignment.value is not None
                groups.setdefault(fp(e.assignment.value), []).append(
                    f"{label} ({e.variable} from {literal_location(e.assignment)})"
                )
            parts = [f"{key} for {capped(users)}" for key, users in groups.items()]
            locations = []
            steps: list[Step] = []
            for e in valued:
                assert e.assignment is not None
                locations.append(literal_location(e.assignment))
                steps.extend(e.assignment.chain)
            yield self.finding(
                environment=share.environment,
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
