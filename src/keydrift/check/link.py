"""Linking across files: deployment units, and application code to the processes that run it.

A unit is where processes are counted and values compared. Compose projects declare their own
unit; Kubernetes manifests form one unit per directory tree that holds no other kind of
deployment (a ``kubernetes/`` folder beside a ``docker-compose/`` folder is an alternative, not
part of it); a kustomize overlay is the unit of the workloads it deploys; a deploy script is its
own unit.

Code reaches processes through builds: a compose service with ``build:`` runs the Dockerfile of
its context, whose ``CMD``/``ENTRYPOINT`` sets the worker count, and the Python modules under
that context.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import replace

from keydrift.model.types import (
    Assignment,
    CodeRead,
    Location,
    Origin,
    OriginKind,
    Service,
    Unit,
    UnitKind,
)
from keydrift.sources.interface import ImageInfo

__all__ = ["assign_units", "link_code", "link_config_files"]


def assign_units(services: list[Service], declared: Iterable[Unit]) -> dict[str, Unit]:
    """Give every service a unit and return all units by id."""
    units = {u.id: u for u in declared}
    blockers = {
        posixpath.dirname(u.location.path) for u in units.values() if u.kind is UnitKind.COMPOSE
    }
    # Directories whose tree holds a compose project: each blocker and all its ancestors. One
    # set lookup per step up, where testing every blocker at every step was quadratic (1,000
    # compose projects and 4,000 manifests took 1.7 s).
    holding: set[str] = set()
    for blocker in blockers:
        current = blocker
        while current not in holding:
            holding.add(current)
            if not current:
                break
            current = posixpath.dirname(current)
    roots: dict[str, str] = {}
    for service in services:
        if service.unit:
            continue
        path = service.location.path
        if service.platform == "kubernetes":
            directory = posixpath.dirname(path)
            top = roots.get(directory)
            if top is None:
                top = roots[directory] = _manifest_root(directory, holding)
            unit = Unit(f"manifests:{top or '.'}", UnitKind.MANIFESTS, Location(top or ".", None))
        else:
            unit = Unit(f"script:{path}", UnitKind.SCRIPT, Location(path, None))
        service.unit = unit.id
        units.setdefault(unit.id, unit)
    return units


def _manifest_root(directory: str, holding: set[str]) -> str:
    """The highest directory above ``directory`` whose tree holds no compose project
    (``holding``: the directories whose tree holds one)."""
    current = directory
    while current:
        parent = posixpath.dirname(current)
        if parent in holding:
            break
        current = parent
    return current


def _within(path: str, directory: str) -> bool:
    return directory in ("", path) or path.startswith(directory + "/")


def link_config_files(services: list[Service], assignments: list[Assignment]) -> None:
    """Give JSON configuration values to the services that run with the file: those that build
    or bind-mount the directory holding it. A ``config.example.json`` stands for the
    ``config.json`` the docs tell users to copy from it, when that file is absent."""
    by_dir: dict[str, list[Assignment]] = {}
    real = {a.location.path for a in assignments if a.source == "json-config" and not a.template}
    for a in assignments:
        if a.source != "json-config" or a.service is not None:
            continue
        directory, name = posixpath.split(a.location.path)
        copy = posixpath.join(directory, _copy_name(name))
        if a.template and copy in real:
            continue  # the real file is there; the example documents it
        by_dir.setdefault(directory, []).append(a)
    if not by_dir:
        return
    for service in services:
        roots = [m.source for m in service.mounts if m.persistent and m.source]
        if service.build_context is not None:
            roots.append(service.build_context)
        for root in roots:
            for a in by_dir.get(root.rstrip("/") if root not in (".", "") else "", []):
                if a.variable not in service.env:
                    service.env[a.variable] = replace(
                        a, service=service.name, environment=service.environment,
                        origins=(Origin(OriginKind.WRITTEN, str(a.location), a.location),),
                    )


def _copy_name(name: str) -> str:
    for marker in (".example", ".sample", ".template", ".dist"):
        name = name.replace(marker, "")
    return name


def link_code(services: list[Service], code: list[CodeRead], images: list[ImageInfo]) -> None:
    """Attach the code each built service runs, and the worker count of its Dockerfile."""
    by_dockerfile = {i.dockerfile: i for i in images}
    for service in services:
        context = service.build_context
        if context is None:
            continue
        image = by_dockerfile.get(service.dockerfile or "")
        if image is not None and image.workers and service.workers <= 1:
            service.workers = image.workers
        root = "" if context in (".", "") else context
        service.code = tuple(c for c in code if _within(c.location.path, root))
