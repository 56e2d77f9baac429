"""Baselines: findings a team has accepted, keyed by finding id (never by a value).

A baseline is a small JSON file::

    {"keydrift_baseline": 1, "findings": [{"id": "...", "rule": "KD303", "environment": ...,
      "services": [...], "paths": [...]}]}

Only ``id`` matters for filtering; the other fields are there so a reviewer can see what was
accepted. Files are written atomically (temporary file + ``os.replace``), so an interrupted run
never leaves half a baseline behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Iterable, Sequence
from typing import Any

from keydrift.errors import InputError
from keydrift.model.findings import Finding

__all__ = ["BASELINE_VERSION", "apply_baseline", "load_baseline", "write_atomic", "write_baseline"]

BASELINE_VERSION = 1


def load_baseline(path: str) -> frozenset[str]:
    """The finding ids accepted in ``path``; :class:`InputError` when it is unreadable."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise InputError(
            f"baseline {path} does not exist",
            advice="create one with `keydrift check --write-baseline FILE`",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read baseline {path}: {type(exc).__name__}") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"baseline is not JSON (line {exc.lineno})",
            where=path,
            advice="regenerate it with `keydrift check --write-baseline FILE`",
        ) from None
    if (
        not isinstance(data, dict)
        or data.get("keydrift_baseline") != BASELINE_VERSION
        or not isinstance(data.get("findings"), list)
    ):
        raise InputError(
            "not a keydrift baseline (version 1)",
            where=path,
            advice="regenerate it with `keydrift check --write-baseline FILE`",
        )
    ids: set[str] = set()
    for item in data["findings"]:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise InputError("a baseline entry has no string id", where=path)
        ids.add(item["id"])
    return frozenset(ids)


def apply_baseline(
    findings: Sequence[Finding], accepted: frozenset[str]
) -> tuple[list[Finding], int]:
    """Findings not in ``accepted``, and how many were filtered out."""
    kept = [f for f in findings if f.finding_id not in accepted]
    return kept, len(findings) - len(kept)


def baseline_document(findings: Iterable[Finding]) -> dict[str, Any]:
    entries = {
        f.finding_id: {
            "id": f.finding_id,
            "rule": f.rule,
            "environment": f.environment,
            "services": list(f.services),
            "variable": f.variable,
            "paths": sorted({loc.path for loc in f.locations}),
        }
        for f in findings
    }
    return {
        "keydrift_baseline": BASELINE_VERSION,
        "findings": [entries[k] for k in sorted(entries)],
    }


def write_baseline(path: str, findings: Iterable[Finding]) -> int:
    """Write a baseline accepting ``findings``; return how many entries it holds."""
    doc = baseline_document(findings)
    write_atomic(path, json.dumps(doc, indent=2) + "\n")
    return len(doc["findings"])


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same directory and ``os.replace``."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".keydrift-", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InputError(
            f"cannot write {path}: {exc.strerror}", advice="check that the directory exists"
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise InputError(
                f"cannot write {path}: {exc.strerror or type(exc).__name__}",
                advice="name a writable file, not a directory",
            ) from None
        raise


def _mode_for(path: str) -> int:
    """Keep an existing file's mode; otherwise what ``open()`` would give (0666 minus umask).

    ``mkstemp`` creates 0600 files, which would surprise whoever reads the report next.
    """
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
