"""Deployment units from paths: the manifest root found through the set of directories that
hold a compose project must be the one the plain definition gives."""

from __future__ import annotations

import posixpath
import random

from keydrift.check.link import assign_units
from keydrift.model.types import Location, Service, Unit, UnitKind


def _reference_root(directory: str, blockers: set[str]) -> str:
    """The definition: the highest directory above ``directory`` whose tree holds no compose
    project (a blocker inside it, or the root itself when there is any blocker)."""
    def within(path: str, parent: str) -> bool:
        return parent in ("", path) or path.startswith(parent + "/")

    current = directory
    while current:
        parent = posixpath.dirname(current)
        if any(within(b, parent) for b in blockers):
            break
        current = parent
    return current


def test_manifest_units_match_the_definition_on_random_trees() -> None:
    rng = random.Random(9)
    names = ["a", "b", "c", "deploy", "k8s", "ops"]
    checked = 0
    for _ in range(300):
        dirs = ["/".join(rng.choice(names) for _ in range(rng.randint(0, 4))) for _ in range(12)]
        compose = [d for d in dirs[:rng.randint(0, 4)]]
        declared = [Unit(f"compose:{d}", UnitKind.COMPOSE, Location(posixpath.join(d, "compose.yml")))
                    for d in compose]
        services = [Service(f"s{i}", "kubernetes", None, Location(posixpath.join(d, f"m{i}.yaml")))
                    for i, d in enumerate(dirs)]
        assign_units(services, declared)
        blockers = set(compose)
        for service, d in zip(services, dirs, strict=True):
            top = _reference_root(d, blockers)
            assert service.unit == f"manifests:{top or '.'}", (d, compose)
            checked += top != d
    assert checked > 100  # roots other than the manifest's own folder were exercised
