"""Ask live replicas which key they hold and whether they accept a token; find the odd one out.

:func:`probe` returns a :class:`ProbeResult` (data only; the CLI renders it). For every URL it
fetches the fingerprint endpoint, each time on a new connection, so that the workers sharing one
port answer too; instances are told apart by their ``instance_id`` and grouped by signing
``kid``. A server that announces the workers sharing its socket lets the probe stop as soon as
each has answered (one request for a single process), and name the ones that never did. With a
token (given, or obtained from a login request) it also calls a protected HTTP path and opens
WebSockets, and reports acceptance per URL, per attempt and, where the server names itself (the
``x-keydrift-instance`` header, or a first WebSocket message carrying ``instance_id``), per
instance. Every problem comes with advice in ``keydrift check``'s vocabulary and a docs link.

The servers may be anyone's: every request has a total deadline (not only per socket read), the
run has one too, bodies are capped, every list taken from a server is capped, and JSON nested
past Python's recursion limit is "not a keydrift endpoint". Nothing raises for a misbehaving
replica: timeouts, refused connections and endpoints that are not keydrift's are recorded per
URL. Needs the ``probe`` extra (httpx, websockets).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from keydrift._version import __version__
from keydrift.errors import TokenRejected, UsageError
from keydrift.keys import short
from keydrift.runtime.asgi import (
    DEFAULT_FINGERPRINT_PATH,
    DETAIL_HEADER,
    INSTANCE_HEADER,
    WS_BEARER_SUBPROTOCOL,
)

if TYPE_CHECKING:
    import httpx

    from keydrift.runtime.discovery import Target

__all__ = [
    "DOCS_URL",
    "PROBE_SCHEMA_VERSION",
    "Advice",
    "Check",
    "Instance",
    "ProbeResult",
    "Progress",
    "UrlReport",
    "parse_login_body",
    "probe",
    "run_probe",
]

PROBE_SCHEMA_VERSION = 1
WS_AUTH_MODES = ("subprotocol", "header", "query")
_WAVE = 4
_MIN_EXTRA_SAMPLES = 128

# Limits on what a server can make the probe do (issue 12): a keydrift document is a few hundred
# bytes with a handful of kids and workers.
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_ERROR_BODY_BYTES = 64 * 1024
MAX_WS_MESSAGE_BYTES = 64 * 1024
MAX_LIST = 256  # kids, warnings, announced workers: per document
MAX_TEXT = 256  # any string field taken from a server
MAX_ID = 128  # an announced sibling id
MAX_INSTANCES_PER_URL = 1024
MAX_ATTEMPT_LOG = 64
DEFAULT_MAX_TIME = 120.0

# Where check's `docs:` lines point (keydrift.rules.interface.DOCS_BASE_URL is this + docs/rules/).
DOCS_URL = "https://github.com/keydrift/keydrift/blob/main/"
_RUNTIME_DOCS = DOCS_URL + "docs/runtime.md"


def _extra_budget(samples: int) -> int:
    """How many one-at-a-time tries may follow ``samples`` to reach workers the kernel starves."""
    return max(4 * samples, _MIN_EXTRA_SAMPLES)


_TOKEN_FIELDS = ("access_token", "token", "jwt", "id_token")


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    """A server-supplied string, capped (escaping for terminals happens when printing)."""
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _str_or_none(value: Any) -> str | None:
    return _text(value) if isinstance(value, str) else None


@dataclass(frozen=True)
class Advice:
    """One problem with what to do about it: ``fix`` and ``docs`` as ``keydrift check`` gives
    them. ``about`` is ``group``, ``url``, ``workers``, ``token``, ``rotation`` or ``run``."""

    about: str
    subject: str
    problem: str
    fix: str
    docs: str

    def to_dict(self) -> dict[str, str]:
        return {"about": self.about, "subject": self.subject, "problem": self.problem,
                "fix": self.fix, "docs": self.docs}


@dataclass
class Check:
    """Acceptance of one token on one kind of endpoint of one URL."""

    kind: str  # "http" or "websocket"
    target: str
    attempts: int = 0
    accepted: int = 0
    rejected: int = 0
    failed: int = 0  # no answer: timeout, refused, protocol error
    reasons: Counter[str] = field(default_factory=Counter)
    by_instance: dict[str, Counter[str]] = field(default_factory=dict)
    per_attempt: list[dict[str, str | None]] = field(default_factory=list)
    hello: bool | None = None  # websocket: did accepted sockets name their instance?

    @property
    def rate(self) -> float | None:
        answered = self.accepted + self.rejected
        return None if answered == 0 else self.accepted / answered

    @property
    def note(self) -> str | None:
        if self.kind == "websocket" and self.accepted and not self.by_instance:
            return ("accepted sockets named no instance: per-instance results need the "
                    "server's first message to be JSON with instance_id (docs/runtime.md, "
                    "`keydrift probe` step 3)")
        return None

    def record(self, outcome: str, reason: str | None, instance: str | None) -> None:
        self.attempts += 1
        reason = _text(reason, 64) if reason else None
        instance = _text(instance) if instance else None
        if outcome == "accepted":
            self.accepted += 1
        elif outcome == "rejected":
            self.rejected += 1
            self.reasons[reason or "unknown"] += 1
        else:
            self.failed += 1
            self.reasons[reason or "error"] += 1
        if instance and (instance in self.by_instance
                         or len(self.by_instance) < MAX_INSTANCES_PER_URL):
            self.by_instance.setdefault(instance, Counter())[outcome] += 1
        if len(self.per_attempt) < MAX_ATTEMPT_LOG:
            self.per_attempt.append({"outcome": outcome, "reason": reason, "instance": instance})

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "attempts": self.attempts,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "failed": self.failed,
            "acceptance_rate": self.rate,
            "reasons": dict(sorted(self.reasons.items())),
            "by_instance": {
                iid: {
                    "accepted": c["accepted"],
                    "rejected": c["rejected"],
                    "acceptance_rate": _rate(c["accepted"], c["rejected"]),
                }
                for iid, c in sorted(self.by_instance.items())
            },
            "per_attempt": list(self.per_attempt),
            "note": self.note,
        }


@dataclass
class Instance:
    """One process (replica or worker) that answered the fingerprint endpoint."""

    instance_id: str
    url: str
    urls: list[str]
    service: str | None
    environment: str | None
    algorithm: str | None
    signing_kid: str
    verification_kids: list[str]
    key_source: dict[str, Any]
    keydrift_version: str | None
    key_warnings: list[str] = field(default_factory=list)
    samples: int = 1
    status: str = "agrees"  # "agrees", "odd_one_out", "disagrees" (no majority)
    token: dict[str, Any] | None = None  # the token's verdict on this exact instance

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "urls": self.urls,
            "instance_id": self.instance_id,
            "service": self.service,
            "environment": self.environment,
            "algorithm": self.algorithm,
            "signing_kid": self.signing_kid,
            "verification_kids": self.verification_kids,
            "key_source": self.key_source,
            "key_warnings": self.key_warnings,
            "keydrift_version": self.keydrift_version,
            "samples": self.samples,
            "status": self.status,
            "token": self.token,
        }


@dataclass
class UrlReport:
    """What one URL answered over all its samples."""

    url: str
    samples: int
    label: str | None = None  # where the URL came from: "pod api-1", "api.svc 10.0.0.7"
    responses: int = 0
    instances: list[str] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    error_detail: str | None = None
    http: Check | None = None
    websocket: Check | None = None
    unreached: list[str] = field(default_factory=list)  # announced workers that never answered
    announced: int | None = None  # how many workers the server says share this port
    stopped_early: bool = False  # every announced worker answered before --samples ran out
    capped: list[str] = field(default_factory=list)  # server lists longer than MAX_LIST

    @property
    def status(self) -> str:
        if self.responses == self.samples:
            return "ok"
        if self.responses:
            return "partial"
        return self.errors.most_common(1)[0][0] if self.errors else "error"

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "label": self.label,
            "status": self.status,
            "samples": self.samples,
            "responses": self.responses,
            "instances": self.instances,
            "unreached": self.unreached,
            "announced_workers": self.announced,
            "stopped_early": self.stopped_early,
            "capped": self.capped,
            "errors": dict(sorted(self.errors.items())),
            "error_detail": self.error_detail,
            "http": self.http.to_dict() if self.http else None,
            "websocket": self.websocket.to_dict() if self.websocket else None,
        }


@dataclass
class ProbeResult:
    """The whole run: instances, their groups by signing kid, checks, and the verdict."""

    urls: list[UrlReport]
    instances: list[Instance]
    samples: int
    duration_s: float = 0.0
    token_source: str | None = None  # "argument" or "login"
    token_kid: str | None = None
    login: dict[str, Any] | None = None
    advice: list[Advice] = field(default_factory=list)
    allow_rotation: bool = False
    deadline_hit: bool = False

    @property
    def problems(self) -> list[str]:
        return [a.problem for a in self.advice]

    @property
    def groups(self) -> list[dict[str, Any]]:
        by_kid: dict[str, list[Instance]] = {}
        for inst in self.instances:
            by_kid.setdefault(inst.signing_kid, []).append(inst)
        ordered = sorted(by_kid.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        return [
            {
                "signing_kid": kid,
                "short_kid": short(kid),
                "size": len(members),
                "instances": [m.instance_id for m in members],
                "urls": sorted({u for m in members for u in m.urls}),
                "services": sorted({m.service or "" for m in members}),
                "key_sources": sorted({_source_text(m.key_source) for m in members}),
                "advice": next((a.to_dict() for a in self.advice
                                if (a.about == "group" and a.subject == kid)
                                or a.about == "rotation"), None),
            }
            for kid, members in ordered
        ]

    @property
    def majority_kid(self) -> str | None:
        counts = Counter(i.signing_kid for i in self.instances)
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if not ordered or (len(ordered) > 1 and ordered[0][1] == ordered[1][1]):
            return None
        return ordered[0][0]

    @property
    def odd_ones_out(self) -> list[Instance]:
        return [i for i in self.instances if i.status != "agrees"]

    @property
    def rotation_compatible(self) -> bool:
        """Every instance verifies every signing kid seen: no token is rejected anywhere."""
        signing = {i.signing_kid for i in self.instances}
        return all(signing <= set(i.verification_kids) for i in self.instances)

    @property
    def rotation_in_progress(self) -> bool:
        """Several signing keys, every one verified everywhere: a correct two-phase rotation."""
        return len({i.signing_kid for i in self.instances}) > 1 and self.rotation_compatible

    @property
    def agree(self) -> bool:
        return len({i.signing_kid for i in self.instances}) <= 1 and not self.advice

    @property
    def exit_code(self) -> int:
        if not self.instances:
            return 1
        blocking = [a for a in self.advice
                    if not (self.allow_rotation and a.about == "rotation")]
        return 0 if not blocking else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": PROBE_SCHEMA_VERSION,
            "tool": {"name": "keydrift", "version": __version__},
            "agree": self.agree,
            "exit_code": self.exit_code,
            "duration_s": round(self.duration_s, 3),
            "samples": self.samples,
            "majority_kid": self.majority_kid,
            "rotation_compatible": self.rotation_compatible,
            "rotation_in_progress": self.rotation_in_progress,
            "allow_rotation": self.allow_rotation,
            "deadline_hit": self.deadline_hit,
            "groups": self.groups,
            "odd_ones_out": [i.instance_id for i in self.odd_ones_out],
            "instances": [i.to_dict() for i in self.instances],
            "urls": [u.to_dict() for u in self.urls],
            "token": None if self.token_source is None else {
                "source": self.token_source,
                "kid": self.token_kid,
                "login": self.login,
            },
            "problems": self.problems,
            "advice": [a.to_dict() for a in self.advice],
        }


@dataclass(frozen=True)
class Progress:
    """Where a running probe is: handed to the ``progress`` callback a few times a second."""

    stage: str  # fingerprints | http | websocket
    urls_done: int
    urls_total: int
    instances: int
    elapsed_s: float


def _rate(accepted: int, rejected: int) -> float | None:
    return None if accepted + rejected == 0 else accepted / (accepted + rejected)


def _source_text(source: Mapping[str, Any]) -> str:
    kind = source.get("kind") or "unknown"
    variable = source.get("variable")
    return f"{kind} {variable}" if variable else str(kind)


def _import_clients() -> tuple[Any, Any]:
    try:
        import httpx
        import websockets.asyncio.client
        import websockets.exceptions
    except ImportError as exc:
        raise UsageError(
            f"keydrift probe needs the 'probe' extra ({exc.name} is not installed, or "
            "websockets is older than 13)",
            advice="pip install 'keydrift[probe]' 'websockets>=13'",
        ) from None
    return httpx, websockets


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"not an http(s) URL: {url[:200]!r}",
                         advice="e.g. http://127.0.0.1:8000, dns+http://api.svc:8000, or "
                         "--endpoints FILE")
    return url.rstrip("/")


def _join(base: str, path: str) -> str:
    return base + (path if path.startswith("/") else "/" + path)


def _ws_url(base: str, path: str) -> str:
    parts = urlsplit(_join(base, path))
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))


def _kid_of(token: str) -> str | None:
    import jwt

    if len(token) > 64 * 1024:
        return None
    try:
        header = jwt.get_unverified_header(token)
    except (jwt.PyJWTError, ValueError, RecursionError):
        return None
    kid = header.get("kid")
    return _text(kid) if isinstance(kid, str) else None


def _classify(exc: BaseException, httpx: Any) -> tuple[str, str]:
    if isinstance(exc, _TooLarge):
        return "too_large", str(exc)
    if isinstance(exc, _RunOver):
        return "deadline", "the run's --max-time passed before this request"
    if isinstance(exc, httpx.TimeoutException | asyncio.TimeoutError | TimeoutError):
        return "timeout", "no complete answer within the timeout"
    if isinstance(exc, httpx.ConnectError | ConnectionError):
        return "unreachable", f"connection failed ({type(exc).__name__})"
    if isinstance(exc, OSError):
        return "unreachable", f"connection failed ({exc.strerror or type(exc).__name__})"
    return "error", type(exc).__name__


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nesting past the interpreter's limit
        return None


def _reason_from(status: int, headers: Mapping[str, str], body: bytes) -> str:
    doc = _json_or_none(body)
    if isinstance(doc, dict) and isinstance(doc.get("reason"), str):
        return _text(doc["reason"], 64)
    challenge = headers.get("www-authenticate", "")
    if 'error_description="' in challenge:
        return _text(challenge.split('error_description="', 1)[1].split('"', 1)[0], 64)
    return f"http_{status}"


class _TooLarge(Exception):
    pass


class _RunOver(Exception):
    pass


@dataclass
class _Response:
    status: int
    headers: Mapping[str, str]
    body: bytes


class _Clock:
    """The run's deadline, and each request's: the smaller of ``timeout`` and what is left."""

    def __init__(self, timeout: float, max_time: float) -> None:
        self.timeout = timeout
        self.started = time.monotonic()
        self.deadline = self.started + max_time
        self.hit = False

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def budget(self, limit: float | None = None) -> float:
        left = self.remaining()
        if left <= 0:
            self.hit = True
            raise _RunOver
        return min(limit if limit is not None else self.timeout, left)


async def _request(
    client: httpx.AsyncClient, clock: _Clock, method: str, url: str, *,
    headers: Mapping[str, str], limit: int, json_body: Any = None, truncate: bool = False,
) -> _Response:
    """One HTTP exchange, whole (connect to last byte) within the request budget, body capped.

    httpx's timeouts apply per socket operation, so a server sending one byte every few
    seconds never trips them; the enclosing ``asyncio.timeout`` bounds the total. Bodies are
    read raw (``accept-encoding: identity``): a compressed body could expand past any cap. Past
    ``limit`` bytes the read stops: :class:`_TooLarge`, or with ``truncate`` the first bytes.
    """
    async with asyncio.timeout(clock.budget()):
        async with client.stream(method, url, headers={**headers, "accept-encoding": "identity"},
                                 json=json_body) as resp:
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.aiter_raw():
                size += len(chunk)
                if size > limit:
                    if truncate:
                        chunks.append(chunk[: limit - (size - len(chunk))])
                        break
                    raise _TooLarge(f"the answer is larger than {limit} bytes")
                chunks.append(chunk)
            return _Response(resp.status_code, resp.headers, b"".join(chunks))


async def probe(
    urls: Sequence[str],
    *,
    samples: int = 8,
    token: str | None = None,
    login_url: str | None = None,
    login_body: Mapping[str, Any] | None = None,
    http_path: str | None = None,
    ws_path: str | None = None,
    ws_auth: str = "subprotocol",
    timeout: float = 5.0,
    max_time: float = DEFAULT_MAX_TIME,
    fingerprint_path: str = DEFAULT_FINGERPRINT_PATH,
    concurrency: int = 200,
    targets: Sequence[Target] = (),
    allow_rotation: bool = False,
    progress: Callable[[Progress], None] | None = None,
    detail_token: str | None = None,
) -> ProbeResult:
    """Probe ``urls`` (and ``targets`` from discovery); see the module docstring.

    ``dns+http(s)://name:port`` URLs expand to every address of ``name``. ``timeout`` bounds each
    request and handshake in total; ``max_time`` the whole run. ``detail_token`` is sent to the
    fingerprint endpoint only, for its ``detail`` part. Raises only
    :class:`UsageError` / :class:`~keydrift.errors.InputError` for bad input.
    """
    from keydrift.runtime.discovery import MAX_TARGETS, is_dns_url, resolve_dns_url

    if not urls and not targets:
        raise UsageError("no URL to probe",
                         advice="keydrift probe http://host:port ..., or --endpoints FILE")
    if samples < 1:
        raise UsageError("--samples must be at least 1")
    for name, value in (("--timeout", timeout), ("--max-time", max_time)):
        if not (math.isfinite(value) and value > 0):
            raise UsageError(f"{name} must be a positive number of seconds")
    if token and login_url:
        raise UsageError("give either a token or a login URL, not both")
    if (ws_path or http_path) and not (token or login_url):
        raise UsageError("--ws and --http-path check a token: give --token or --login too")
    if ws_auth not in WS_AUTH_MODES:
        raise UsageError(f"unknown WebSocket auth mode {ws_auth!r}",
                         advice=f"use one of {', '.join(WS_AUTH_MODES)}")
    plain = [u for u in urls if not is_dns_url(u)]
    bases: list[tuple[str, str | None]] = [(_check_url(u), None) for u in plain]
    if login_url:
        _check_url(login_url)
    httpx, websockets = _import_clients()
    for url in urls:
        if is_dns_url(url):
            bases.extend((_check_url(t.url), t.label) for t in await resolve_dns_url(url))
    bases.extend((_check_url(t.url), t.label) for t in targets)
    unique: dict[str, str | None] = {}
    for base, label in bases:
        unique.setdefault(base, label)
    if len(unique) > MAX_TARGETS:
        raise UsageError(f"{len(unique)} URLs to probe; at most {MAX_TARGETS} per run")
    clock = _Clock(timeout, max_time)
    gate = asyncio.Semaphore(max(1, concurrency))
    # No keep-alive: every sample is a new connection, so workers sharing a port are all asked.
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    result = ProbeResult(urls=[UrlReport(b, samples, label=lbl) for b, lbl in unique.items()],
                         instances=[], samples=samples, allow_rotation=allow_rotation)
    state = {"stage": "fingerprints", "done": 0}
    ticker = None
    if progress is not None:
        ticker = asyncio.create_task(_tick(progress, state, result, clock))
    try:
        async with httpx.AsyncClient(limits=limits, timeout=timeout, trust_env=False,
                                     follow_redirects=False) as client:
            if login_url:
                body = parse_login_body(None) if login_body is None else login_body
                token = await _login(client, clock, login_url, body, result)
            elif token:
                result.token_source = "argument"  # noqa: S105 - a label, not a secret
            if token:
                result.token_kid = _kid_of(token)
            auth = {"authorization": f"Bearer {token}"} if token else {}
            # The detail token goes to the fingerprint endpoint only: it unlocks the document's
            # "detail" (service, environment, source, warnings) and is no business of the app's.
            fp_headers = {**auth, DETAIL_HEADER: detail_token} if detail_token else auth
            await _stage(state, "fingerprints", [
                _fingerprints(client, clock, gate, report, fingerprint_path, fp_headers, result)
                for report in result.urls
            ])
            if token and http_path:
                await _stage(state, "http", [
                    _http_checks(client, clock, gate, report, http_path, auth, httpx, result)
                    for report in result.urls
                ])
        if token and ws_path:
            await _stage(state, "websocket", [
                _ws_checks(clock, gate, report, ws_path, token, ws_auth, websockets, httpx,
                           result)
                for report in result.urls
            ])
    finally:
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
    result.deadline_hit = clock.hit
    _judge(result, fingerprint_path, max_time)
    result.duration_s = time.monotonic() - clock.started
    return result


async def _stage(state: dict[str, Any], name: str, jobs: list[Any]) -> None:
    state["stage"], state["done"] = name, 0

    async def counted(job: Any) -> None:
        await job
        state["done"] += 1

    await asyncio.gather(*(counted(j) for j in jobs))


async def _tick(progress: Callable[[Progress], None], state: dict[str, Any],
                result: ProbeResult, clock: _Clock) -> None:
    while True:
        await asyncio.sleep(0.2)
        progress(Progress(state["stage"], state["done"], len(result.urls),
                          len(result.instances), time.monotonic() - clock.started))


def run_probe(urls: Sequence[str], **kwargs: Any) -> ProbeResult:
    """Synchronous wrapper around :func:`probe`."""
    return asyncio.run(probe(urls, **kwargs))


async def _login(
    client: httpx.AsyncClient, clock: _Clock, url: str, body: Mapping[str, Any],
    result: ProbeResult,
) -> str | None:
    import httpx as httpx_module

    result.token_source = "login"  # noqa: S105 - a label, not a secret
    info: dict[str, Any] = {"url": url, "ok": False}
    result.login = info
    try:
        resp = await _request(client, clock, "POST", url, headers={}, limit=MAX_BODY_BYTES,
                              json_body=dict(body))
    except Exception as exc:  # any transport failure is a finding, not a crash
        info["error"] = _classify(exc, httpx_module)[1]
        result.advice.append(Advice(
            "token", url, f"login at {url} failed: {info['error']}",
            "check the --login URL and that the service is up; or pass a token with --token",
            _RUNTIME_DOCS + "#keydrift-probe"))
        return None
    info["status"] = resp.status
    doc = _json_or_none(resp.body)
    token = None
    if resp.status < 300 and isinstance(doc, dict):
        token = next((doc[f] for f in _TOKEN_FIELDS if isinstance(doc.get(f), str)), None)
        if isinstance(doc.get("instance_id"), str):
            info["instance_id"] = _text(doc["instance_id"])
    if token is None:
        info["error"] = f"HTTP {resp.status}, no token field ({', '.join(_TOKEN_FIELDS)})"
        result.advice.append(Advice(
            "token", url, f"login at {url} gave no token: {info['error']}",
            "send the login body the service expects (--login-body JSON), or pass --token",
            _RUNTIME_DOCS + "#keydrift-probe"))
        return None
    info["ok"] = True
    info["kid"] = _kid_of(token)
    return str(token)


def _clean_doc(doc: Any) -> dict[str, Any] | None:
    """A fingerprint document with every field checked and capped, or ``None``."""
    if not (isinstance(doc, dict) and isinstance(doc.get("signing_kid"), str)
            and isinstance(doc.get("instance_id"), str) and doc["instance_id"]):
        return None
    kids = doc.get("verification_kids")
    # Where the operator's details are: the top level (fingerprint schema 1), or "detail" (later
    # schemas send them only to holders of a credential).
    detail = doc.get("detail")
    about: dict[str, Any] = detail if isinstance(detail, dict) else doc
    warnings = about.get("key_warnings")
    source = about.get("key_source")
    verdict = doc.get("token")
    out: dict[str, Any] = {
        "instance_id": _text(doc["instance_id"]),
        "signing_kid": _text(doc["signing_kid"]),
        "service": _str_or_none(about.get("service")),
        "environment": _str_or_none(about.get("environment")),
        "algorithm": _str_or_none(doc.get("algorithm")),
        "keydrift": _str_or_none(about.get("keydrift")),
        "verification_kids": [_text(k) for k in kids[:MAX_LIST] if isinstance(k, str)]
        if isinstance(kids, list) else [],
        "key_warnings": [_text(w) for w in warnings[:16] if isinstance(w, str)]
        if isinstance(warnings, list) else [],
        "key_source": {k: _str_or_none(source.get(k)) for k in ("kind", "variable")}
        if isinstance(source, dict) else {},
        "token": None,
    }
    if isinstance(verdict, dict) and isinstance(verdict.get("accepted"), bool):
        out["token"] = {"accepted": verdict["accepted"]}
        for key in ("reason", "detail"):
            if isinstance(verdict.get(key), str):
                out["token"][key] = _text(verdict[key])
    merged = {**about, **doc}
    out["announced"] = _announced(merged, out["instance_id"])
    out["capped"] = [k for k in ("siblings", "sibling_pids", "verification_kids", "key_warnings")
                     if isinstance(merged.get(k), list) and len(merged[k]) > MAX_LIST]
    return out


def _announced(doc: Mapping[str, Any], iid: str) -> tuple[frozenset[str] | None, int | None]:
    """The workers a document says share its socket: their instance ids where they can be
    named, and how many there are. ``(None, None)`` when the server does not say.

    Three forms: ``siblings`` (opaque instance ids, including the instance's own); ``workers``
    (a count, for instances with custom names, whose siblings cannot be named); and the first
    document's ``hostname``/``pid``/``sibling_pids``, where ids are ``hostname:pid`` unless the
    instance has a custom name (then only the count is known). At most :data:`MAX_LIST` are
    believed: a server announcing more (200,000 workers) is not believed at all, and the
    probe samples as if it had announced nothing.
    """
    siblings = doc.get("siblings")
    if isinstance(siblings, list) and siblings:
        if len(siblings) > MAX_LIST:
            return None, None
        # An id over MAX_ID characters is no keydrift id: never awaited (nor truncated into
        # one that could collide with a real id).
        ids = frozenset(s for s in siblings if isinstance(s, str) and len(s) <= MAX_ID)
        if iid in ids:
            return ids, len(ids)
        return None, len(ids) or None
    workers = doc.get("workers")
    if isinstance(workers, int) and not isinstance(workers, bool) and 0 < workers <= MAX_LIST:
        return None, workers
    pids = doc.get("sibling_pids")
    if not isinstance(pids, list) or not pids or len(pids) > MAX_LIST:
        return None, None
    pids = [p for p in pids if isinstance(p, int) and not isinstance(p, bool)]
    host, pid = doc.get("hostname"), doc.get("pid")
    if isinstance(host, str) and iid == f"{host}:{pid}":
        return frozenset(f"{_text(host)}:{p}" for p in pids), len(pids)
    return None, len(set(pids)) or None


async def _fingerprints(
    client: httpx.AsyncClient, clock: _Clock, gate: asyncio.Semaphore, report: UrlReport,
    path: str, auth: Mapping[str, str], result: ProbeResult,
) -> None:
    import httpx as httpx_module

    url = _join(report.url, path)

    async def one() -> dict[str, Any] | None:
        async with gate:
            try:
                resp = await _request(client, clock, "GET", url, headers=auth,
                                      limit=MAX_BODY_BYTES)
            except Exception as exc:  # recorded per URL, never raised
                status, detail = _classify(exc, httpx_module)
                report.errors[status] += 1
                report.error_detail = detail
                return None
        if resp.status in (401, 403):
            report.errors["auth_required"] += 1
            report.error_detail = (f"{path} answered {resp.status}: the endpoint requires "
                                   "a token (pass --token or --login)")
            return None
        if resp.status != 200:
            report.errors["not_keydrift"] += 1
            report.error_detail = f"{path} answered HTTP {resp.status}"
            return None
        doc = _clean_doc(_json_or_none(resp.body))
        if doc is None:
            report.errors["not_keydrift"] += 1
            report.error_detail = f"{path} did not return a keydrift fingerprint document"
            return None
        report.responses += 1
        for name in doc["capped"]:
            if name not in report.capped:
                report.capped.append(name)
        return doc

    # The first request alone: a server that says it is one process is done after it. Then
    # waves of a few concurrent connections: one large burst tends to be accepted by a single
    # worker's accept loop, while small waves spread over every worker sharing the port. When
    # the second half of the samples still finds new instances, there are probably more behind
    # the port: sample up to as many again.
    docs: list[dict[str, Any] | None] = []
    seen: set[str] = set()
    latest: dict[str, tuple[frozenset[str] | None, int | None]] = {}
    budget, seen_at = report.samples, 0

    def take(batch: Sequence[dict[str, Any] | None]) -> None:
        nonlocal seen_at
        for doc in batch:
            docs.append(doc)
            if doc is None:
                continue
            iid = doc["instance_id"]
            # The latest announcement of each instance counts: a worker that died (and was
            # respawned under a new id) drops out of the next answer, so it is never awaited.
            latest[iid] = doc["announced"]
            if iid not in seen and len(seen) < MAX_INSTANCES_PER_URL:
                seen.add(iid)
                seen_at = len(docs)

    def missing() -> tuple[set[str], int]:
        """Announced workers that have not answered: by id, and by count."""
        ids: set[str] = set()
        count = 0
        for announced_ids, announced_count in latest.values():
            if announced_ids is not None:
                ids |= announced_ids
            if announced_count:
                count = max(count, announced_count)
        return ids - seen, max(0, count - len(seen))

    def covered() -> bool:
        ids, short_by = missing()
        return bool(latest) and any(c for _, c in latest.values()) and not ids and not short_by

    try:
        take([await one()])
        while len(docs) < budget and not covered():
            size = min(_WAVE, budget - len(docs))
            take(await asyncio.gather(*(one() for _ in range(size))))
            if len(docs) >= budget == report.samples and seen_at > report.samples // 2 > 0:
                budget = 2 * report.samples
        # Servers that announce the workers sharing their socket say whom to expect: the kernel
        # can starve one worker for dozens of connections, so sample one at a time until each
        # has answered, up to a bounded number of extra samples.
        extra = _extra_budget(report.samples)
        while extra > 0 and any(missing()) and clock.remaining() > 0:
            take([await one()])
            extra -= 1
    finally:
        report.stopped_early = covered() and len(docs) < report.samples
        ids_missing, _ = missing()
        report.unreached = sorted(ids_missing)[:MAX_LIST]
        counts = [c for _, c in latest.values() if c]
        report.announced = max(counts) if counts else None
        report.samples = max(1, len(docs))
        _collect(report, docs, result)


def _collect(report: UrlReport, docs: Sequence[dict[str, Any] | None],
             result: ProbeResult) -> None:
    by_id = {i.instance_id: i for i in result.instances}
    for doc in docs:
        if doc is None:
            continue
        iid = doc["instance_id"]
        if iid not in report.instances:
            if len(report.instances) >= MAX_INSTANCES_PER_URL:
                continue
            report.instances.append(iid)
        inst = by_id.get(iid)
        if inst is not None:
            inst.samples += 1
            if report.url not in inst.urls:
                inst.urls.append(report.url)
            continue
        inst = Instance(
            instance_id=iid,
            url=report.url,
            urls=[report.url],
            service=doc["service"],
            environment=doc["environment"],
            algorithm=doc["algorithm"],
            signing_kid=doc["signing_kid"],
            verification_kids=doc["verification_kids"],
            key_source=doc["key_source"],
            keydrift_version=doc["keydrift"],
            token=doc["token"],
            key_warnings=doc["key_warnings"],
        )
        by_id[iid] = inst
        result.instances.append(inst)


async def _cover_instances(one: Any, check: Check, report: UrlReport, clock: _Clock,
                           result: ProbeResult) -> None:
    """Keep trying, one connection at a time, until every instance behind this URL that can be
    told apart has answered the check, within a bounded number of extra attempts.

    The kernel picks the worker for each connection and may send a whole run to one of them;
    a per-instance verdict needs each instance at least once. An answer names its instance by
    the ``x-keydrift-instance`` header or, for an accepted WebSocket, its hello message. A
    refusal without a name (the middleware's bare 403 before a WebSocket upgrade) cannot be
    attributed, so then only the instances whose fingerprint verdict accepts the token are
    awaited: they will name themselves once accepted. A server that names nothing gets no
    extra tries.
    """
    if check.kind == "websocket" and check.hello is False:
        return
    anonymous = any(a["instance"] is None for a in check.per_attempt)
    if anonymous:
        accepting = {i.instance_id for i in result.instances
                     if i.token is not None and i.token.get("accepted")}
        targets = set(report.instances) & accepting
    elif check.by_instance:
        targets = set(report.instances)
    else:
        return
    extra = _extra_budget(report.samples)
    while targets - set(check.by_instance) and extra > 0 and clock.remaining() > 0:
        await one()
        extra -= 1


async def _in_waves(one: Any, count: int, clock: _Clock) -> None:
    """Run ``count`` calls of ``one`` a wave of a few at a time (see :func:`_fingerprints`)."""
    for start in range(0, count, _WAVE):
        if clock.remaining() <= 0:
            return
        await asyncio.gather(*(one() for _ in range(min(_WAVE, count - start))))


async def _http_checks(
    client: httpx.AsyncClient, clock: _Clock, gate: asyncio.Semaphore, report: UrlReport,
    path: str, auth: Mapping[str, str], httpx: Any, result: ProbeResult,
) -> None:
    check = report.http = Check("http", path)

    async def one() -> None:
        async with gate:
            try:
                resp = await _request(client, clock, "GET", _join(report.url, path),
                                      headers=auth, limit=MAX_ERROR_BODY_BYTES, truncate=True)
            except Exception as exc:  # recorded, never raised
                check.record("failed", _classify(exc, httpx)[0], None)
                return
        instance = resp.headers.get(INSTANCE_HEADER)
        if resp.status < 400:
            check.record("accepted", None, instance)
        elif resp.status in (401, 403):
            check.record("rejected", _reason_from(resp.status, resp.headers, resp.body),
                         instance)
        else:
            check.record("failed", f"http_{resp.status}", instance)

    await _in_waves(one, report.samples, clock)
    await _cover_instances(one, check, report, clock, result)


async def _ws_checks(
    clock: _Clock, gate: asyncio.Semaphore, report: UrlReport, path: str, token: str, mode: str,
    websockets: Any, httpx: Any, result: ProbeResult,
) -> None:
    """Open the WebSocket ``samples`` times; the whole stage for one URL has one deadline.

    A server that accepts but sends no hello is waited on once (up to a second): after that
    sockets are closed as soon as they open, so such a server costs about one second per URL
    instead of a wait per socket.
    """
    check = report.websocket = Check("websocket", path)
    url = _ws_url(report.url, path)
    connect = websockets.asyncio.client.connect
    invalid_status = websockets.exceptions.InvalidStatus
    timeout = clock.timeout
    hello_wait = min(1.0, timeout)
    kwargs: dict[str, Any] = {"open_timeout": timeout, "close_timeout": min(1.0, timeout),
                              "max_size": MAX_WS_MESSAGE_BYTES}
    if "proxy" in inspect.signature(connect).parameters:
        # websockets >= 15 follows $HTTPS_PROXY; replicas are probed directly, as with httpx.
        kwargs["proxy"] = None
    if mode == "subprotocol":
        kwargs["subprotocols"] = [WS_BEARER_SUBPROTOCOL, token]
    elif mode == "header":
        kwargs["additional_headers"] = {"Authorization": f"Bearer {token}"}
    else:
        url += ("&" if "?" in url else "?") + "access_token=" + token
    stage_end = time.monotonic() + 2 * timeout + hello_wait

    async def one() -> None:
        async with gate:
            left = min(stage_end - time.monotonic(), clock.remaining())
            if left <= 0:
                check.record("failed", "deadline", None)
                return
            try:
                async with asyncio.timeout(left), connect(url, **kwargs) as conn:
                    instance = None
                    if check.hello is not False:
                        instance = await _hello(conn, hello_wait)
                        if instance is not None:
                            check.hello = True
                        elif check.hello is None:
                            check.hello = False
                    check.record("accepted", None, instance)
            except invalid_status as exc:
                resp = exc.response
                headers = {k.lower(): v for k, v in resp.headers.raw_items()}
                body = bytes(resp.body or b"")[:MAX_ERROR_BODY_BYTES]
                reason = _reason_from(resp.status_code, headers, body)
                outcome = "rejected" if resp.status_code in (401, 403) else "failed"
                check.record(outcome, reason, headers.get(INSTANCE_HEADER))
            except Exception as exc:  # recorded, never raised
                check.record("failed", _classify(exc, httpx)[0], None)

    await _in_waves(one, report.samples, clock)
    if time.monotonic() < stage_end:
        await _cover_instances(one, check, report, clock, result)


async def _hello(conn: Any, timeout: float) -> str | None:
    """The instance id from the server's first message, when it sends one (JSON with it)."""
    try:
        first = await asyncio.wait_for(conn.recv(), timeout)
        doc = json.loads(first)
    except Exception:  # a server that says nothing, or says something else, is fine
        return None
    value = doc.get("instance_id") if isinstance(doc, dict) else None
    return _text(value) if isinstance(value, str) else None


_URL_ADVICE: dict[str, tuple[str, str]] = {
    "not_keydrift": (
        "wrap the service in keydrift.asgi.JWTAuthMiddleware so it serves {path}, or pass "
        "--fingerprint-path where it does", "#the-middleware"),
    "auth_required": (
        "the endpoint is behind authentication (fingerprint_auth=True): pass --token or --login",
        "#the-fingerprint-endpoint"),
    "timeout": (
        "the replica took the connection but gave no complete answer within --timeout: check "
        "its load and logs, or raise --timeout", "#keydrift-probe"),
    "unreachable": (
        "nothing answers at this address: check the URL and port and that the replica is "
        "running", "#keydrift-probe"),
    "too_large": (
        "the answer is far larger than a fingerprint document: --fingerprint-path probably "
        "points at something else", "#the-fingerprint-endpoint"),
    "deadline": (
        "the run reached --max-time before this URL was asked: probe fewer URLs at once or "
        "raise --max-time", "#keydrift-probe"),
    "error": ("the answer was not HTTP this probe understands: check the URL's scheme and port",
              "#keydrift-probe"),
}


def _group_advice(result: ProbeResult, kid: str, members: Sequence[Instance],
                  majority: str | None, rotation: bool) -> Advice:
    names = ", ".join(m.instance_id for m in members[:6]) + (
        f" and {len(members) - 6} more" if len(members) > 6 else "")
    kinds = {(m.key_source or {}).get("kind") for m in members}
    variables = sorted({v for m in members if (v := (m.key_source or {}).get("variable"))})
    what = (f"{len(members)} instance(s) sign with kid {short(kid)}"
            + (" (the majority)" if kid == majority else "") + f": {names}")
    if rotation:
        return Advice(
            "rotation", "", "every instance verifies every signing key: a two-phase "
            "rotation in progress",
            "finish the rotation (restart the remaining replicas with the new key current), "
            "then probe again; --allow-rotation accepts this state",
            _RUNTIME_DOCS + "#rotating-a-key-without-rejecting-anyone")
    if kinds & {"generated", "literal"}:
        return Advice(
            "group", kid, what + f" (key source {', '.join(sorted(str(k) for k in kinds))}): "
            "each process made or holds its own key",
            "set one shared secret (JWT_SECRET, or JWT_SECRET_FILE pointing at a mounted file) "
            "for every replica and worker; never let a process fall back to a key of its own",
            DOCS_URL + "docs/rules/KD102.md")
    if kinds == {"file"}:
        return Advice(
            "group", kid, what + f" (key source file {', '.join(variables) or ''})".rstrip()
            + ": the secret file changed after some instances started, or they mount different "
            "files",
            "make every replica mount the same secret, then restart the instances whose key "
            "differs so they read the current file",
            DOCS_URL + "docs/rules/KD201.md")
    if not kinds - {None}:
        # A public document does not say where the key comes from (--detail-token does).
        return Advice(
            "group", kid, what,
            "deliver one value to all of them from one source (one env_file or secret "
            "referenced by every service), then probe again; if each process makes a key of "
            "its own (KD102), set the shared variable for every replica and worker. "
            "--detail-token shows each instance's key source",
            DOCS_URL + "docs/rules/KD201.md")
    return Advice(
        "group", kid, what + (f" (from {', '.join(variables)})" if variables else ""),
        "deliver one value to all of them from one source (one env_file or secret referenced "
        "by every service), then probe again",
        DOCS_URL + "docs/rules/KD201.md")


def _judge(result: ProbeResult, fingerprint_path: str, max_time: float) -> None:
    """Set each instance's status and collect every problem (each with advice)."""
    majority = result.majority_kid
    kids = {i.signing_kid for i in result.instances}
    several = len(kids) > 1
    for inst in result.instances:
        if not several:
            inst.status = "agrees"
        elif majority is None:
            inst.status = "disagrees"
        else:
            inst.status = "agrees" if inst.signing_kid == majority else "odd_one_out"
    advice = result.advice
    if several:
        rotation = result.rotation_compatible
        by_kid: dict[str, list[Instance]] = {}
        for inst in result.instances:
            by_kid.setdefault(inst.signing_kid, []).append(inst)
        where = f"majority kid {short(majority)}" if majority else "no majority"
        head = (f"{len(by_kid)} signing keys among {len(result.instances)} instances ({where})"
                + ("; rotation compatible" if rotation else ""))
        ordered = sorted(by_kid.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        if rotation:
            # One entry for the whole fleet: every group is part of the same rotation.
            ordered = ordered[:1]
        first = True
        for kid, members in ordered:
            if kid == majority and not rotation:
                continue
            item = _group_advice(result, kid, members, majority, rotation)
            if first:
                item = Advice(item.about, item.subject, f"{head}: {item.problem}", item.fix,
                              item.docs)
                first = False
            advice.append(item)
    for report in result.urls:
        if report.status != "ok":
            failed = report.samples - report.responses
            kind = report.status if report.status in _URL_ADVICE else (
                report.errors.most_common(1)[0][0] if report.errors else "error")
            fix, anchor = _URL_ADVICE.get(kind, _URL_ADVICE["error"])
            advice.append(Advice(
                "url", report.url,
                f"{report.url}: {failed}/{report.samples} samples failed "
                f"({', '.join(sorted(report.errors))}): {report.error_detail}",
                fix.format(path=fingerprint_path), _RUNTIME_DOCS + anchor))
        if report.capped:
            advice.append(Advice(
                "url", report.url,
                f"{report.url}: the fingerprint document lists more than {MAX_LIST} entries in "
                f"{', '.join(report.capped)}; the lists were cut and announced workers ignored",
                "check what serves --fingerprint-path there: a keydrift document names a few "
                "keys and workers", _RUNTIME_DOCS + "#the-fingerprint-endpoint"))
        if report.unreached:
            shown = ", ".join(report.unreached[:8]) + (
                f" and {len(report.unreached) - 8} more" if len(report.unreached) > 8 else "")
            advice.append(Advice(
                "workers", report.url,
                f"{report.url}: {len(report.unreached)} worker(s) sharing this port never "
                f"answered in {report.samples} samples ({shown}): their keys are unknown",
                "probe again with more --samples, or probe each worker on a port of its own",
                _RUNTIME_DOCS + "#keydrift-probe"))
        elif report.announced and report.responses and len(report.instances) < report.announced:
            advice.append(Advice(
                "workers", report.url,
                f"{report.url}: the server announces {report.announced} workers; "
                f"{len(report.instances)} answered in {report.samples} samples",
                "probe again with more --samples; give each worker a unique instance_name",
                _RUNTIME_DOCS + "#keydrift-probe"))
        for check in (report.http, report.websocket):
            if check is None:
                continue
            if check.rejected:
                reasons = ", ".join(f"{r} x{n}" for r, n in check.reasons.most_common())
                top = check.reasons.most_common(1)[0][0]
                if top.startswith("http_"):
                    fix = ("the handshake was refused before the upgrade without a reason (the "
                           "middleware's default): the instance's own verdict on the token is "
                           "listed with it above; websocket_denial_body=True sends the reason")
                else:
                    fix = TokenRejected.ADVICE.get(top) or (
                        "the instance holds another key than the signer: compare the groups "
                        "above, and `keydrift explain` the token")
                advice.append(Advice(
                    "token", report.url,
                    f"{report.url}: {check.kind} {check.target} rejected the token "
                    f"{check.rejected}/{check.attempts} times ({reasons})",
                    fix, _RUNTIME_DOCS + "#rejections"))
            elif check.failed:
                advice.append(Advice(
                    "token", report.url,
                    f"{report.url}: {check.kind} {check.target}: {check.failed}/{check.attempts} "
                    "attempts got no answer",
                    "check the path, and that the service answers it under --timeout",
                    _RUNTIME_DOCS + "#keydrift-probe"))
    for inst in result.instances:
        if inst.token is not None and not inst.token.get("accepted"):
            reason = str(inst.token.get("reason"))
            advice.append(Advice(
                "token", inst.instance_id,
                f"{inst.instance_id} ({inst.url}) rejects the token: "
                f"{reason} ({inst.token.get('detail')})",
                TokenRejected.ADVICE.get(reason) or (
                    "this instance holds another key than the signer: see its group above"),
                _RUNTIME_DOCS + "#rejections"))
    if result.deadline_hit:
        advice.append(Advice(
            "run", "", f"the run stopped at --max-time ({max_time:g}s): some answers are missing",
            "probe fewer URLs at once, or raise --max-time", _RUNTIME_DOCS + "#keydrift-probe"))


def parse_login_body(text: str | None) -> dict[str, Any]:
    """``--login-body`` as a JSON object (default: a demo user)."""
    if text is None:
        return {"username": "keydrift-probe", "password": "keydrift-probe"}
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--login-body is not JSON ({exc.msg})") from None
    except RecursionError:
        raise UsageError("--login-body is nested too deeply") from None
    if not isinstance(doc, dict):
        raise UsageError("--login-body must be a JSON object")
    return doc
