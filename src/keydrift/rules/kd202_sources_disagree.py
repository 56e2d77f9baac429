"""KD202 sources-disagree: two files set one variable for one environment to different values."""

from __future__ import annotations

from collections.abc import Iterator

from keydrift.model.types import Assignment, Model
from keydrift.rules._common import (
    capped,
    consumers,
    fp_labels,
    is_secret_name,
    literal_location,
    unique_assignments,
)
from keydrift.rules.interface import Finding, Rule, Severity


class SourcesDisagree(Rule):
    id = "KD202"
    name = "sources-disagree"
    title = "Two sources set the same variable for one environment to different values"
    default_severity = Severity.ERROR
    cost = 3

    def check(self, model: Model) -> Iterator[Finding]:

        groups: dict[tuple[str, str], list[Assignment]] = {}
        for a in unique_assignments(
            model,
            lambda a: a.environment is not None
            and not a.template
            and is_secret_name(model, a.variable),
        ):
            assert a.environment is not None
            groups.setdefault((a.variable, a.environment), []).append(a)
        for (variable, env), items in sorted(groups.items()):
            if not _conflict(items):
                continue
            shown = fp_labels(model, [a.value for a in items if a.value is not None])
            parts = []
            for a in items:
                assert a.value is not None
                parts.append(f"{literal_location(a)} ({a.source}) gives {shown[a.value.fingerprint]}")
            yield self.finding(
                environment=env,
                services=[name for a in items for name in consumers(model, a)],
                locations=[literal_location(a) for a in items],
                fingerprints=list(shown.values()),
                message=f"{variable} has {len(shown)} "
                f"different values in {env}: " + capped(parts, sep="; ", limit=6),
                runtime_effect=(
                    "Which value a service gets depends on how it is deployed: the deploy "
                    "script's value wins on one path and the env file's on another, so services "
                    "deployed differently sign and verify with different keys."
                ),
                fix=(
                    f"keep {variable} for {env} in one place and make the others reference it "
                    "(e.g. the deploy script reads the env file or the secret store instead of "
                    "carrying a literal)"
                ),
                variable=variable,
                steps=[s for a in items for s in a.chain],
            )


def _conflict(items: list[Assignment]) -> bool:
    """Two different values that can reach the same consumer from different places."""
    for i, a in enumerate(items):
        for b in items[i + 1 :]:
            if a.value is None or b.value is None or a.value == b.value:
                continue
            if literal_location(a).path == literal_location(b).path and a.source == b.source:
                continue  # one file setting it twice is the file's own last-wins business
            if literal_location(a) == literal_location(b):
                continue  # one written value read two ways (quotes kept or not) is KD501's
            if a.service and b.service and a.service != b.service:
                continue  # per-service values are KD201's to judge
            return True
    return False
