"""Prometheus metrics: which keys each process holds, why tokens are rejected, weak secrets.

Needs the ``prometheus`` extra (``pip install 'keydrift[prometheus]'``, i.e. prometheus_client).
Three metrics, all of bounded cardinality (no per-token, per-path or per-user label):

* ``keydrift_key_info{spec,environment,kid,role}`` = 1 for each key the process holds: ``role``
  is ``signing`` for the current key and ``verifying`` for every key it accepts (current and
  previous). ``kid`` is the full RFC 7638 thumbprint that tokens carry in their header already.
* ``keydrift_token_rejections_total{reason}``: ``reason`` is one of
  :attr:`keydrift.errors.TokenRejected.REASONS`, every one initialised to 0 so that ``rate()``
  works from the first scrape.
* ``keydrift_secret_weak{spec}``: 1 when the resolver accepted the current secret with strength
  warnings (outside production-like environments), else 0. Absent when the middleware was handed a
  keyring it did not resolve itself (it cannot judge a value it never saw).

A value, a fingerprint of a weak value's position in any list, or the warning text never appear.

Multi-worker servers (uvicorn ``--workers N``, gunicorn): set ``PROMETHEUS_MULTIPROC_DIR`` to an
empty directory before the server starts (prometheus_client's multiprocess mode). Each worker then
writes its own file, ``keydrift_key_info`` carries a ``pid`` label per worker (mode ``liveall``),
and :meth:`KeydriftMetrics.asgi_app` serves the merged view from whichever worker answers the
scrape, after dropping the files of workers that are no longer alive (uvicorn has no ``child_exit``
hook to do it; for gunicorn see docs/monitoring.md).
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from keydrift.errors import TokenRejected, UsageError

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import CollectorRegistry

    from keydrift.keyring import Keyring

__all__ = ["KEY_INFO", "REJECTIONS", "SECRET_WEAK", "KeydriftMetrics", "multiprocess_dir"]

KEY_INFO = "keydrift_key_info"
REJECTIONS = "keydrift_token_rejections"  # exposed with the counter suffix: ..._total
SECRET_WEAK = "keydrift_secret_weak"  # noqa: S105 - a metric name

_MULTIPROC_VARIABLES = ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir")
_LIVE_FILE = re.compile(r"^gauge_live[a-z]+_(\d+)\.db$")

Labels = tuple[str, str, str, str]  # spec, environment, kid, role


def multiprocess_dir() -> str | None:
    """The prometheus_client multiprocess directory in force, or ``None`` (single process)."""
    for name in _MULTIPROC_VARIABLES:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _import_client() -> Any:
    try:
        import prometheus_client
    except ImportError:
        raise UsageError(
            "keydrift metrics need prometheus_client",
            advice="install the extra: pip install 'keydrift[prometheus]'",
        ) from None
    return prometheus_client


class KeydriftMetrics:
    """The three keydrift metrics, registered once in ``registry`` (default: the global one).

    Create one per process and hand it to every :class:`~keydrift.asgi.JWTAuthMiddleware` that
    should report (``JWTAuthMiddleware(app, metrics=metrics)``); several middlewares with different
    specs can share it. Registering twice in one registry is refused by prometheus_client.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        client = _import_client()
        self.registry: CollectorRegistry = client.REGISTRY if registry is None else registry
        # `liveall` keeps one series per live worker (with a `pid` label) in multiprocess mode:
        # worker drift is one of the incidents this exists for, so workers must not be merged.
        self._key_info = client.Gauge(
            KEY_INFO, "Keys this process holds (1 each): role=signing for the current key, "
            "role=verifying for every key it accepts; kid is the RFC 7638 thumbprint.",
            ("spec", "environment", "kid", "role"), registry=self.registry,
            multiprocess_mode="liveall",
        )
        counter = client.Counter(
            REJECTIONS, "Tokens rejected by keydrift, by reason (TokenRejected.REASONS).",
            ("reason",), registry=self.registry,
        )
        self._weak = client.Gauge(
            SECRET_WEAK, "1 when the current secret is weak (accepted outside production-like "
            "environments), else 0; the reason is never exported.",
            ("spec",), registry=self.registry, multiprocess_mode="livemax",
        )
        # Children bound once: a rejection costs one dict look-up and one increment.
        self._rejections = {reason: counter.labels(reason) for reason in sorted(TokenRejected.REASONS)}
        self._held: dict[str, set[Labels]] = {}

    # --- updates -----------------------------------------------------------------------------

    def observe_keyring(
        self, spec: str, environment: str | None, keyring: Keyring, *, weak: bool | None = None
    ) -> None:
        """Publish the keys ``keyring`` holds for ``spec``, replacing what was published before."""
        env = environment or ""
        new: set[Labels] = {(spec, env, keyring.current_kid, "signing")}
        new.update((spec, env, kid, "verifying") for kid in keyring.kids)
        old = self._held.get(spec, set())
        multiprocess = multiprocess_dir() is not None
        for labels in old - new:
            if multiprocess:
                # prometheus_client cannot remove a series from a worker's file; 0 marks it
                # gone, and asgi_app() (and the shipped rules, with `== 1`) skip such samples.
                self._key_info.labels(*labels).set(0)
            else:
                self._key_info.remove(*labels)
        for labels in new:
            self._key_info.labels(*labels).set(1)
        self._held[spec] = new
        if weak is not None:
            self._weak.labels(spec).set(1 if weak else 0)

    def rejected(self, reason: str) -> None:
        """Count one rejection; ``reason`` outside the fixed vocabulary is refused (bounded labels)."""
        child = self._rejections.get(reason)
        if child is None:
            raise ValueError(f"unknown rejection reason {reason!r}")
        child.inc()

    # --- exposition --------------------------------------------------------------------------

    def collector_registry(self) -> CollectorRegistry:
        """The registry to expose: this one, or in multiprocess mode a merged view of every
        live worker's file (built per call; cheap, nothing is cached between scrapes)."""
        path = multiprocess_dir()
        if path is None:
            return self.registry
        client = _import_client()
        registry: CollectorRegistry = client.CollectorRegistry(auto_describe=True)
        registry.register(_LiveWorkersCollector(path))
        return registry

    def asgi_app(self) -> Any:
        """An ASGI app serving the Prometheus exposition; mount it at ``/metrics``.

        Exclude that path from authentication (``exclude=("/metrics",)``): scrapers carry no
        token. The body holds kids, counts and (multiprocess) worker pids, never a value.
        """
        client = _import_client()
        return client.make_asgi_app(self.collector_registry())


class _LiveWorkersCollector:
    """prometheus_client's MultiProcessCollector over the live workers' files only.

    Gauge files of dead workers (``gauge_live*_<pid>.db``) are removed before each collection,
    as gunicorn's ``child_exit`` hook would with ``mark_process_dead``; uvicorn has no such hook,
    and a respawned worker must not leave its predecessor's key behind as a phantom process.
    Counters of dead workers stay: their rejections happened. ``keydrift_key_info`` samples at 0
    (keys a worker dropped after a runtime rotation) are skipped.
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def collect(self) -> Iterable[Metric]:
        # prometheus_client.multiprocess has no type annotations.
        from prometheus_client import multiprocess

        for pid in _dead_writers(self.path):
            multiprocess.mark_process_dead(pid, self.path)  # type: ignore[no-untyped-call]
        merged = multiprocess.MultiProcessCollector(None, self.path)  # type: ignore[no-untyped-call]
        for metric in merged.collect():  # type: ignore[no-untyped-call]
            if metric.name == KEY_INFO:
                metric.samples = [s for s in metric.samples if s.value == 1]
            yield metric


def _dead_writers(path: str) -> Iterator[int]:
    seen: set[int] = set()
    for name in sorted(os.path.basename(f) for f in glob.glob(os.path.join(path, "gauge_live*.db"))):
        match = _LIVE_FILE.match(name)
        if match is None:
            continue
        pid = int(match.group(1))
        if pid not in seen:
            seen.add(pid)
            if not _alive(pid):
                yield pid


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A worker that exited but was not reaped yet is a zombie: dead for our purpose.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
