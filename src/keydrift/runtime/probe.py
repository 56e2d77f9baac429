"""Ask live replicas which key they hold and whether they accept a token; find the odd one out.

:func:`probe` returns a :class:`ProbeResult` (data only; the CLI renders it). For every URL it
fetches the fingerprint endpoint ``samples`` times concurrently, each on a new connection, so that
the workers sharing one port answer too; instances are told apart by their ``instance_id``
(opaque, one per process) and grouped by signing ``kid``. With a token (given, or obtained from a login
request) it also calls a protected HTTP path and opens WebSockets, and reports acceptance per URL
and, where the server names itself (the ``x-keydrift-instance`` header, or a first WebSocket
message carrying ``instance_id``), per instance.

Nothing raises for a misbehaving replica: timeouts, refused connections and endpoints that are
not keydrift's are recorded per URL. Needs the ``probe`` extra (httpx, websockets).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from keydrift._version import __version__
from keydrift.errors import UsageError
from keydrift.keys import short
from keydrift.runtime.asgi import (
    DEFAULT_FINGERPRINT_PATH,
    DETAIL_HEADER,
    INSTANCE_HEADER,
    WS_BEARER_SUBPROTOCOL,
)

if TYPE_CHECKING:
    import httpx

__all__ = [
    "PROBE_SCHEMA_VERSION",
    "Check",
    "Instance",
    "ProbeResult",
    "UrlReport",
    "parse_login_body",
    "probe",
    "run_probe",
]

PROBE_SCHEMA_VERSION = 1
WS_AUTH_MODES = ("subprotocol", "header", "query")
_WAVE = 4
_MIN_EXTRA_SAMPLES = 128


def _extra_budget(samples: int) -> int:
    """How many one-at-a-time tries may follow ``samples`` to reach workers the kernel starves."""
    return max(4 * samples, _MIN_EXTRA_SAMPLES)
_TOKEN_FIELDS = ("access_token", "token", "jwt", "id_token")


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

    @property
    def rate(self) -> float | None:
        answered = self.accepted + self.rejected
        return None if answered == 0 else self.accepted / answered

    def record(self, outcome: str, reason: str | None, instance: str | None) -> None:
        self.attempts += 1
        if outcome == "accepted":
            self.accepted += 1
        elif outcome == "rejected":
            self.rejected += 1
            self.reasons[reason or "unknown"] += 1
        else:
            self.failed += 1
            self.reasons[reason or "error"] += 1
        if instance:
            self.by_instance.setdefault(instance, Counter())[outcome] += 1

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
    responses: int = 0
    instances: list[str] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    error_detail: str | None = None
    http: Check | None = None
    websocket: Check | None = None
    unreached: list[str] = field(default_factory=list)  # announced workers that never answered

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
            "status": self.status,
            "samples": self.samples,
            "responses": self.responses,
            "instances": self.instances,
            "unreached": self.unreached,
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
    problems: list[str] = field(default_factory=list)

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
            }
            for kid, members in ordered
        ]

    @property
    def majority_kid(self) -> str | None:
        groups = self.groups
        if not groups:
            return None
        if len(groups) > 1 and groups[0]["size"] == groups[1]["size"]:
            return None
        kid: str = groups[0]["signing_kid"]
        return kid

    @property
    def odd_ones_out(self) -> list[Instance]:
        return [i for i in self.instances if i.status != "agrees"]

    @property
    def rotation_compatible(self) -> bool:
        """Every instance verifies every signing kid seen: no token is rejected anywhere."""
        signing = {i.signing_kid for i in self.instances}
        return all(signing <= set(i.verification_kids) for i in self.instances)

    @property
    def agree(self) -> bool:
        return len(self.groups) <= 1 and not self.problems

    @property
    def exit_code(self) -> int:
        return 0 if self.agree and self.instances else 1

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
        }


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
        raise UsageError(f"not an http(s) URL: {url!r}", advice="e.g. http://127.0.0.1:8000 or http://api-1:8000")
    return url.rstrip("/")


def _join(base: str, path: str) -> str:
    return base + (path if path.startswith("/") else "/" + path)


def _ws_url(base: str, path: str) -> str:
    parts = urlsplit(_join(base, path))
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))


def _kid_of(token: str) -> str | None:
    import base64

    try:
        head = token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, IndexError):
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


def _classify(exc: BaseException, httpx: Any) -> tuple[str, str]:
    if isinstance(exc, httpx.TimeoutException | asyncio.TimeoutError | TimeoutError):
        return "timeout", "no answer within the timeout"
    if isinstance(exc, httpx.ConnectError | ConnectionError):
        return "unreachable", f"connection failed ({type(exc).__name__})"
    if isinstance(exc, OSError):
        return "unreachable", f"connection failed ({exc.strerror or type(exc).__name__})"
    return "error", type(exc).__name__


def _reason_from(status: int, headers: Mapping[str, str], body: bytes) -> str:
    try:
        doc = json.loads(body)
        if isinstance(doc, dict) and isinstance(doc.get("reason"), str):
            return str(doc["reason"])
    except ValueError:
        pass
    challenge = headers.get("www-authenticate", "")
    if 'error_description="' in challenge:
        return challenge.split('error_description="', 1)[1].split('"', 1)[0]
    return f"http_{status}"


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
    fingerprint_path: str = DEFAULT_FINGERPRINT_PATH,
    concurrency: int = 200,
    detail_token: str | None = None,
) -> ProbeResult:
    """Probe ``urls``; see the module docstring. Raises only :class:`UsageError` for bad input."""
    if not urls:
        raise UsageError("no URL to probe", advice="keydrift probe http://host:port ...")
    if samples < 1:
        raise UsageError("--samples must be at least 1")
    if token and login_url:
        raise UsageError("give either a token or a login URL, not both")
    if (ws_path or http_path) and not (token or login_url):
        raise UsageError("--ws and --http-path check a token: give --token or --login too")
    if ws_auth not in WS_AUTH_MODES:
        raise UsageError(f"unknown WebSocket auth mode {ws_auth!r}",
                         advice=f"use one of {', '.join(WS_AUTH_MODES)}")
    bases = [_check_url(u) for u in urls]
    if login_url:
        _check_url(login_url)
    httpx, websockets = _import_clients()
    started = time.perf_counter()
    gate = asyncio.Semaphore(max(1, concurrency))
    # No keep-alive: every sample is a new connection, so workers sharing a port are all asked.
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    result = ProbeResult(urls=[UrlReport(b, samples) for b in bases], instances=[],
                         samples=samples)
    async with httpx.AsyncClient(limits=limits, timeout=timeout, trust_env=False,
                                 follow_redirects=False) as client:
        if login_url:
            body = parse_login_body(None) if login_body is None else login_body
            token = await _login(client, login_url, body, result)
        elif token:
            result.token_source = "argument"  # noqa: S105 - a label, not a secret
        if token:
            result.token_kid = _kid_of(token)
        auth = {"authorization": f"Bearer {token}"} if token else {}
        # The detail token goes to the fingerprint endpoint only: it unlocks the document's
        # "detail" (service, environment, source, warnings) and is no business of the app's.
        fp_headers = {**auth, DETAIL_HEADER: detail_token} if detail_token else auth
        await asyncio.gather(*(
            _fingerprints(client, gate, report, fingerprint_path, fp_headers, result)
            for report in result.urls
        ))
        if token and http_path:
            await asyncio.gather(*(
                _http_checks(client, gate, report, http_path, auth, httpx)
                for report in result.urls
            ))
    if token and ws_path:
        await asyncio.gather(*(
            _ws_checks(gate, report, ws_path, token, ws_auth, timeout, websockets, httpx)
            for report in result.urls
        ))
    _judge(result)
    result.duration_s = time.perf_counter() - started
    return result


def run_probe(urls: Sequence[str], **kwargs: Any) -> ProbeResult:
    """Synchronous wrapper around :func:`probe`."""
    return asyncio.run(probe(urls, **kwargs))


async def _login(
    client: httpx.AsyncClient, url: str, body: Mapping[str, Any], result: ProbeResult
) -> str | None:
    result.token_source = "login"  # noqa: S105 - a label, not a secret
    info: dict[str, Any] = {"url": url, "ok": False}
    result.login = info
    try:
        resp = await client.post(url, json=dict(body))
    except Exception as exc:  # any transport failure is a finding, not a crash
        import httpx

        info["error"] = _classify(exc, httpx)[1]
        result.problems.append(f"login at {url} failed: {info['error']}")
        return None
    info["status"] = resp.status_code
    try:
        doc = resp.json()
    except ValueError:
        doc = None
    token = None
    if resp.status_code < 300 and isinstance(doc, dict):
        token = next((doc[f] for f in _TOKEN_FIELDS if isinstance(doc.get(f), str)), None)
        if isinstance(doc.get("instance_id"), str):
            info["instance_id"] = doc["instance_id"]
    if token is None:
        info["error"] = f"HTTP {resp.status_code}, no token field ({', '.join(_TOKEN_FIELDS)})"
        result.problems.append(f"login at {url} gave no token: {info['error']}")
        return None
    info["ok"] = True
    info["kid"] = _kid_of(token)
    return str(token)


async def _fingerprints(
    client: httpx.AsyncClient, gate: asyncio.Semaphore, report: UrlReport, path: str,
    auth: Mapping[str, str], result: ProbeResult,
) -> None:
    import httpx

    url = _join(report.url, path)

    async def one() -> dict[str, Any] | None:
        async with gate:
            try:
                resp = await client.get(url, headers=auth)
            except Exception as exc:  # recorded per URL, never raised
                status, detail = _classify(exc, httpx)
                report.errors[status] += 1
                report.error_detail = detail
                return None
        if resp.status_code in (401, 403):
            report.errors["auth_required"] += 1
            report.error_detail = (f"{path} answered {resp.status_code}: the endpoint requires "
                                   "a token (pass --token or --login)")
            return None
        if resp.status_code != 200:
            report.errors["not_keydrift"] += 1
            report.error_detail = f"{path} answered HTTP {resp.status_code}"
            return None
        try:
            doc = resp.json()
        except ValueError:
            doc = None
        if not (isinstance(doc, dict) and isinstance(doc.get("signing_kid"), str)
                and isinstance(doc.get("instance_id"), str)):
            report.errors["not_keydrift"] += 1
            report.error_detail = f"{path} did not return a keydrift fingerprint document"
            return None
        report.responses += 1
        return doc

    # Waves of a few concurrent connections: one large burst tends to be accepted by a single
    # worker's accept loop, while small waves spread over every worker sharing the port. When
    # the second half of the samples still finds new instances, there are probably more behind
    # the port: sample up to as many again.
    docs: list[dict[str, Any] | None] = []
    budget, seen_at = report.samples, 0
    seen: set[str] = set()
    while len(docs) < budget:
        size = min(_WAVE, budget - len(docs))
        for doc in await asyncio.gather(*(one() for _ in range(size))):
            docs.append(doc)
            if doc is not None and doc["instance_id"] not in seen:
                seen.add(str(doc["instance_id"]))
                seen_at = len(docs)
        if len(docs) >= budget == report.samples and seen_at > report.samples // 2 > 0:
            budget = 2 * report.samples
    # Servers that name the workers sharing their socket (`sibling_pids`) say whom to expect:
    # the kernel can starve one worker for dozens of connections, so sample one at a time until
    # each has answered, up to a bounded number of extra samples.
    expected = _expected_instances(docs)
    extra = _extra_budget(report.samples)
    while expected - seen and extra > 0:
        doc = await one()
        docs.append(doc)
        extra -= 1
        if doc is not None:
            seen.add(str(doc["instance_id"]))
            expected |= _expected_instances([doc])
    report.unreached = sorted(expected - seen)
    report.samples = len(docs)
    by_id = {i.instance_id: i for i in result.instances}
    for doc in docs:
        if doc is None:
            continue
        iid = str(doc["instance_id"])
        if iid not in report.instances:
            report.instances.append(iid)
        inst = by_id.get(iid)
        if inst is not None:
            inst.samples += 1
            if report.url not in inst.urls:
                inst.urls.append(report.url)
            continue
        kids = doc.get("verification_kids")
        verdict = doc.get("token")
        # Schema 2 keeps service, environment, source and warnings under "detail", sent only to
        # holders of the detail token; schema 1 had them at the top level.
        about = doc.get("detail") if doc.get("schema_version") != 1 else doc
        about = about if isinstance(about, dict) else {}
        source = about.get("key_source")
        warnings = about.get("key_warnings")
        inst = Instance(
            instance_id=iid,
            url=report.url,
            urls=[report.url],
            service=_str_or_none(about.get("service")),
            environment=_str_or_none(about.get("environment")),
            algorithm=_str_or_none(doc.get("algorithm")),
            signing_kid=str(doc["signing_kid"]),
            verification_kids=[str(k) for k in kids] if isinstance(kids, list) else [],
            key_source=dict(source) if isinstance(source, dict) else {},
            keydrift_version=_str_or_none(about.get("keydrift")),
            token=dict(verdict) if isinstance(verdict, dict) else None,
            key_warnings=[str(w) for w in warnings] if isinstance(warnings, list) else [],
        )
        by_id[iid] = inst
        result.instances.append(inst)


_MAX_SIBLINGS = 256
_MAX_ID_LENGTH = 128


def _expected_instances(docs: list[dict[str, Any] | None]) -> set[str]:
    """Instance ids of the sibling workers the documents announce: opaque ids in ``siblings``
    (schema 2), or ``hostname:pid`` ids derived from ``sibling_pids`` (schema 1)."""
    expected: set[str] = set()
    for doc in docs:
        if doc is None:
            continue
        siblings = doc.get("siblings")
        if isinstance(siblings, list):
            # Bounded: a hostile server must not make the probe wait for a million workers.
            expected.update(s for s in siblings[:_MAX_SIBLINGS]
                            if isinstance(s, str) and len(s) <= _MAX_ID_LENGTH)
            continue
        host, pid, pids = doc.get("hostname"), doc.get("pid"), doc.get("sibling_pids")
        if not (isinstance(host, str) and isinstance(pids, list)) or doc.get("instance_id") != (
            f"{host}:{pid}"
        ):
            continue  # a custom instance name: worker ids cannot be derived from pids
        expected.update(f"{host}:{p}" for p in pids if isinstance(p, int))
    return expected


async def _cover_instances(one: Any, check: Check, report: UrlReport) -> None:
    """Keep trying, one connection at a time, until every instance seen behind this URL has
    answered the check, within a bounded number of extra attempts.

    The kernel picks the worker for each connection and may send a whole run to one of them;
    a per-instance verdict needs each instance at least once. Servers that do not say which
    instance answered (no instance header or hello) cannot be steered and get no extra tries.
    """
    if not check.by_instance:
        return
    extra = _extra_budget(report.samples)
    while set(report.instances) - set(check.by_instance) and extra > 0:
        await one()
        extra -= 1


async def _in_waves(one: Any, count: int) -> None:
    """Run ``count`` calls of ``one`` a wave of a few at a time (see :func:`_fingerprints`)."""
    for start in range(0, count, _WAVE):
        await asyncio.gather(*(one() for _ in range(min(_WAVE, count - start))))


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


async def _http_checks(
    client: httpx.AsyncClient, gate: asyncio.Semaphore, report: UrlReport, path: str,
    auth: Mapping[str, str], httpx: Any,
) -> None:
    check = report.http = Check("http", path)

    async def one() -> None:
        async with gate:
            try:
                resp = await client.get(_join(report.url, path), headers=auth)
            except Exception as exc:  # recorded, never raised
                check.record("failed", _classify(exc, httpx)[0], None)
                return
        instance = resp.headers.get(INSTANCE_HEADER)
        if resp.status_code < 400:
            check.record("accepted", None, instance)
        elif resp.status_code in (401, 403):
            check.record("rejected", _reason_from(resp.status_code, resp.headers, resp.content),
                         instance)
        else:
            check.record("failed", f"http_{resp.status_code}", instance)

    await _in_waves(one, report.samples)
    await _cover_instances(one, check, report)


async def _ws_checks(
    gate: asyncio.Semaphore, report: UrlReport, path: str, token: str, mode: str,
    timeout: float, websockets: Any, httpx: Any,
) -> None:
    check = report.websocket = Check("websocket", path)
    url = _ws_url(report.url, path)
    connect = websockets.asyncio.client.connect
    invalid_status = websockets.exceptions.InvalidStatus
    kwargs: dict[str, Any] = {"open_timeout": timeout, "close_timeout": 1, "max_size": 2**20}
    if "proxy" in inspect.signature(connect).parameters:
        # websockets >= 15 follows $HTTPS_PROXY; replicas are probed directly, as with httpx.
        kwargs["proxy"] = None
    if mode == "subprotocol":
        kwargs["subprotocols"] = [WS_BEARER_SUBPROTOCOL, token]
    elif mode == "header":
        kwargs["additional_headers"] = {"Authorization": f"Bearer {token}"}
    else:
        url += ("&" if "?" in url else "?") + "access_token=" + token

    async def one() -> None:
        async with gate:
            try:
                async with connect(url, **kwargs) as conn:
                    instance = await _hello(conn, min(timeout, 2.0))
                    check.record("accepted", None, instance)
            except invalid_status as exc:
                resp = exc.response
                headers = {k.lower(): v for k, v in resp.headers.raw_items()}
                reason = _reason_from(resp.status_code, headers, bytes(resp.body or b""))
                outcome = "rejected" if resp.status_code in (401, 403) else "failed"
                check.record(outcome, reason, headers.get(INSTANCE_HEADER))
            except Exception as exc:  # recorded, never raised
                check.record("failed", _classify(exc, httpx)[0], None)

    await _in_waves(one, report.samples)
    await _cover_instances(one, check, report)


async def _hello(conn: Any, timeout: float) -> str | None:
    """The instance id from the server's first message, when it sends one (JSON with it)."""
    try:
        first = await asyncio.wait_for(conn.recv(), timeout)
        doc = json.loads(first)
    except Exception:  # a server that says nothing is fine
        return None
    value = doc.get("instance_id") if isinstance(doc, dict) else None
    return value if isinstance(value, str) else None


def _judge(result: ProbeResult) -> None:
    """Set each instance's status and collect the problems that make the exit code 1."""
    majority = result.majority_kid
    several = len({i.signing_kid for i in result.instances}) > 1
    for inst in result.instances:
        if not several:
            inst.status = "agrees"
        elif majority is None:
            inst.status = "disagrees"
        else:
            inst.status = "agrees" if inst.signing_kid == majority else "odd_one_out"
    if several:
        kinds = len(result.groups)
        where = (f"majority kid {short(majority)}" if majority else "no majority")
        result.problems.append(
            f"{kinds} signing keys among {len(result.instances)} instances ({where})"
        )
    for report in result.urls:
        if report.status != "ok":
            failed = report.samples - report.responses
            result.problems.append(
                f"{report.url}: {failed}/{report.samples} samples failed "
                f"({', '.join(sorted(report.errors))}): {report.error_detail}"
            )
        if report.unreached:
            result.problems.append(
                f"{report.url}: {len(report.unreached)} worker(s) sharing this port never answered "
                f"in {report.samples} samples ({', '.join(report.unreached)}): their keys are "
                "unknown; probe again with more --samples"
            )
        for check in (report.http, report.websocket):
            if check is None:
                continue
            if check.rejected:
                reasons = ", ".join(f"{r} x{n}" for r, n in check.reasons.most_common())
                result.problems.append(
                    f"{report.url}: {check.kind} {check.target} rejected the token "
                    f"{check.rejected}/{check.attempts} times ({reasons})"
                )
            elif check.failed:
                result.problems.append(
                    f"{report.url}: {check.kind} {check.target}: {check.failed}/{check.attempts} "
                    "attempts got no answer"
                )
    for inst in result.instances:
        if inst.token is not None and not inst.token.get("accepted"):
            result.problems.append(
                f"{inst.instance_id} ({inst.url}) rejects the token: "
                f"{inst.token.get('reason')} ({inst.token.get('detail')})"
            )


def parse_login_body(text: str | None) -> dict[str, Any]:
    """``--login-body`` as a JSON object (default: a demo user)."""
    if text is None:
        return {"username": "keydrift-probe", "password": "keydrift-probe"}
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--login-body is not JSON ({exc.msg})") from None
    if not isinstance(doc, dict):
        raise UsageError("--login-body must be a JSON object")
    return doc

