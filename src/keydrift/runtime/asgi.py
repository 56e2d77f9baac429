"""Pure ASGI JWT authentication for HTTP and WebSocket, plus the ``/.well-known/keydrift`` endpoint.

The middleware is plain ASGI 3 (no Starlette import), so it wraps Starlette, FastAPI or any other
ASGI app the same way. HTTP and WebSocket share one verification path built on
:class:`~keydrift.keyring.Keyring`, so a token is accepted on ``GET /me`` exactly when it is
accepted on ``/ws/chat``: the incidents this answers showed 401s on one and 403s on the other.

Token sources, in order:

* HTTP: ``Authorization: Bearer <token>``, then the cookie named by ``cookie`` (opt-in).
* WebSocket: ``Authorization: Bearer <token>``, then the ``Sec-WebSocket-Protocol`` pair
  ``bearer, <token>`` (what browsers can send; the server answers with the ``bearer`` subprotocol
  unless the app picks its own), then the query parameter named by ``query_param`` (opt-in,
  because access logs record query strings).

Rejections: HTTP gets 401 with an RFC 6750 ``WWW-Authenticate`` header and a JSON body naming the
reason; a WebSocket handshake is refused before the upgrade with 403 (with a JSON body where the
server supports the ASGI WebSocket denial-response extension). Both are logged on the ``keydrift``
logger with the reason, never the token or a key.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import os
import secrets
import socket
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from keydrift._version import __version__
from keydrift.errors import KeydriftError, TokenRejected, UsageError
from keydrift.keyring import Keyring
from keydrift.keys import oct_thumbprint
from keydrift.secret import SecretValue
from keydrift.spec import DEFAULT_JWT_SPEC, SecretSpec

if TYPE_CHECKING:
    from keydrift.metrics import KeydriftMetrics

__all__ = [
    "CLAIMS_KEY",
    "DEFAULT_FINGERPRINT_PATH",
    "DETAIL_HEADER",
    "DETAIL_TOKEN_VARIABLE",
    "FINGERPRINT_SCHEMA_VERSION",
    "INSTANCE_HEADER",
    "KEYRING_KEY",
    "SUBJECT_KEY",
    "WS_BEARER_SUBPROTOCOL",
    "JWTAuthMiddleware",
    "claims_dependency",
    "instance_id",
    "relative_path",
    "sibling_ids",
    "source_of",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("keydrift")

DEFAULT_FINGERPRINT_PATH = "/.well-known/keydrift"
FINGERPRINT_SCHEMA_VERSION = 2
DETAIL_HEADER = "x-keydrift-detail-token"
DETAIL_TOKEN_VARIABLE = "KEYDRIFT_DETAIL_TOKEN"  # noqa: S105 - a variable name
MIN_DETAIL_TOKEN_LENGTH = 32
CLAIMS_KEY = "keydrift_claims"
SUBJECT_KEY = "keydrift_subject"
KEYRING_KEY = "keydrift_keyring"
INSTANCE_HEADER = "x-keydrift-instance"
WS_BEARER_SUBPROTOCOL = "bearer"
_SOURCE_KINDS = ("env", "file", "dotenv", "generated")


def instance_id() -> str:
    """This process's opaque instance id (see :func:`opaque_id`); unique per process."""
    return _own_id(os.getpid())


@functools.lru_cache(maxsize=16)
def _own_id(pid: int) -> str:
    # Keyed by pid, so a forked worker computes its own id instead of inheriting its parent's.
    return opaque_id(pid) or _fallback_id(pid)


def opaque_id(pid: int) -> str | None:
    """An id for process ``pid`` of this host that tells processes apart without naming them.

    The public fingerprint endpoint must not give away hostnames or pids, yet the workers
    sharing a port must be able to name each other (so the probe knows whom to expect). So the
    id is an HMAC, keyed with the kernel's boot id (random per boot, readable only on this host),
    of the hostname, the pid and the process start time: siblings compute each other's ids from
    /proc, nobody outside can invert them, and a reused pid gets a new id. ``None`` when the
    process is gone or /proc cannot tell (non-Linux: see :func:`instance_id`).
    """
    started = _start_time(pid)
    key = _boot_id()
    if started is None or key is None:
        return None
    return _derive_id(key, socket.gethostname(), pid, started)


@functools.lru_cache(maxsize=256)
def _derive_id(key: bytes, host: str, pid: int, started: str) -> str:
    digest = hmac.new(key, f"{host}\0{pid}\0{started}".encode(), hashlib.sha256).digest()
    return digest[:12].hex()


@functools.lru_cache(maxsize=1)
def _boot_id() -> bytes | None:
    try:
        with open("/proc/sys/kernel/random/boot_id", "rb") as fh:
            value = fh.read(128).strip()
    except OSError:
        return None
    return value or None


def _start_time(pid: int) -> str | None:
    """Start time of ``pid`` in clock ticks since boot (field 22 of /proc/PID/stat); ``None`` for
    a process that is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read(4096).rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return fields[19]


@functools.lru_cache(maxsize=16)
def _fallback_id(pid: int) -> str:
    # Without /proc, siblings cannot derive each other's ids anyway (sibling_pids() is empty):
    # a random id per process is as opaque and as unique.
    return secrets.token_hex(12)


def sibling_ids() -> list[str]:
    """Opaque ids (:func:`opaque_id`) of the workers sharing this process's listening socket,
    this one included; ``[]`` where that cannot be told."""
    ids = [opaque_id(pid) for pid in sibling_pids()]
    return sorted({i for i in ids if i is not None})


def relative_path(scope: Scope) -> str:
    """The request path relative to the ASGI ``root_path``.

    ASGI servers include ``root_path`` in ``path`` (uvicorn --root-path /api serves ``/login``
    as path ``/api/login``); exclusions and the fingerprint path are written for the app, so they
    are matched against what follows ``root_path``. Same rule as Starlette's ``get_route_path``
    (which this module cannot import: it is plain ASGI); tests compare the two.
    """
    path: str = scope["path"]
    root: str = scope.get("root_path") or ""
    if not root or not path.startswith(root):
        return path
    if path == root:
        return ""
    if path[len(root)] == "/":
        return path[len(root):]
    return path


def sibling_pids() -> list[int]:
    """Pids of the worker processes that share this process's sockets, this one included
    (Linux; ``[]`` where it cannot be told). Cached for a few seconds.

    The kernel, not a client, picks which worker accepts a connection, and it can starve one
    for a long time; knowing the workers lets ``keydrift probe`` keep sampling until it has
    seen each one, and name the ones it never reached. Workers are the children of our parent
    (uvicorn's or gunicorn's supervisor) that hold a socket we hold too: the listening socket
    they inherited. Replicas started side by side by one parent share none.
    """
    now = time.monotonic()
    cached = _SIBLINGS.get(os.getpid())
    if cached is not None and now - cached[0] < _SIBLINGS_TTL:
        return _alive(cached[1])
    pids = _find_siblings()
    _SIBLINGS[os.getpid()] = (now, pids)
    return pids


def _alive(pids: list[int]) -> list[int]:
    """``pids`` without the workers that have died since they were listed.

    The list is cached for a few seconds, and a supervisor replaces a killed worker at once:
    announcing the dead one would make the probe wait for (and report as unreached) a process
    that no longer exists. A dead worker is gone from ``/proc``, or a zombie (``Z``/``X``) until
    its supervisor reaps it; a reused pid would have another parent. Reading one small
    ``/proc`` file per worker is cheap enough for every request.
    """
    me = os.getpid()
    parent = os.getppid()
    alive = []
    for pid in pids:
        if pid == me:
            alive.append(pid)
            continue
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 1 and fields[0] not in ("Z", "X", "x") and fields[1] == str(parent):
            alive.append(pid)
    return alive


_SIBLINGS: dict[int, tuple[float, list[int]]] = {}  # keyed by pid: a forked worker starts over
_SIBLINGS_TTL = 10.0


def _find_siblings() -> list[int]:
    try:
        mine = _socket_inodes(os.getpid())
        if not mine:
            return []
        with open("/proc/self/stat", encoding="ascii") as fh:
            ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        with open(f"/proc/{ppid}/task/{ppid}/children", encoding="ascii") as fh:
            children = [int(p) for p in fh.read().split()]
    except (OSError, ValueError, IndexError):
        return []
    found = []
    for pid in children:
        try:
            if _socket_inodes(pid) & mine:
                found.append(pid)
        except OSError:
            continue
    return sorted(found) if os.getpid() in found else []


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    for name in os.listdir(fd_dir):
        try:
            target = os.readlink(f"{fd_dir}/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def source_of(keyring: Keyring) -> dict[str, str | None]:
    """Kind (env, file, dotenv, generated, literal) and variable of the current key, never a
    value: read from the key's typed provenance."""
    provenance = keyring.keys_info()[0].provenance
    return {"kind": str(provenance.kind), "variable": provenance.variable}


class _TokenCache:
    """Claims of recently verified tokens, keyed by the exact token text.

    Clients reuse one token for many requests; re-running HMAC and JSON decoding for each is most
    of the middleware's cost. A hit is honoured only while ``exp`` (and ``nbf``) still hold, tokens
    without ``exp`` are never cached, and the cache belongs to one keyring (``owner``), so it
    cannot outlive a key change. Rejections are not cached: a rejected token is retried in full.
    """

    __slots__ = ("_data", "_size", "owner")

    def __init__(self, size: int, owner: Keyring | None = None) -> None:
        self._size = size
        self.owner = owner
        self._data: OrderedDict[str, tuple[dict[str, Any], float, float]] = OrderedDict()

    def get(self, token: str) -> dict[str, Any] | None:
        hit = self._data.get(token)
        if hit is None:
            return None
        claims, exp, nbf = hit
        now = time.time()
        if now >= exp or now < nbf:
            self._data.pop(token, None)
            return None
        return dict(claims)

    def put(self, token: str, claims: dict[str, Any]) -> None:
        exp = claims.get("exp")
        if self._size <= 0 or not isinstance(exp, int | float) or isinstance(exp, bool):
            return
        nbf = claims.get("nbf", 0)
        nbf = nbf if isinstance(nbf, int | float) and not isinstance(nbf, bool) else 0
        self._data[token] = (dict(claims), float(exp), float(nbf))
        if len(self._data) > self._size:
            self._data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()


class JWTAuthMiddleware:
    """Authenticate every HTTP request and WebSocket handshake with a :class:`Keyring`.

    With ``keyring=None`` the keyring is resolved from ``spec`` (default: the JWT spec) when the
    server starts (ASGI lifespan startup): a missing, conflicting or refused secret fails the
    startup, so uvicorn exits non-zero with the resolver's message instead of serving requests.
    Servers run without lifespan resolve on the first request and answer 503 if that fails.

    ``exclude`` lists paths served without authentication: exact paths, or prefixes ending in
    ``*`` (``"/static/*"``). Verified claims go to ``scope["state"]["keydrift_claims"]`` and the
    ``sub`` claim to ``scope["state"]["keydrift_subject"]``; the keyring itself (to sign, e.g.
    in a login route) to ``scope["state"]["keydrift_keyring"]``.

    A refused WebSocket handshake is closed before accept: the server answers HTTP 403 and logs
    it as a refusal, nothing more (the reason goes to the ``keydrift`` log).
    ``websocket_denial_body=True`` sends the 403 with the reason as a JSON body through the ASGI
    denial-response extension where the server offers it; uvicorn 0.54's default WebSocket
    implementation (websockets-sansio) then logs ``ERROR: ASGI callable returned without
    completing handshake.`` for every refusal (Kludex/uvicorn#3138), hence the default.

    ``instance_name`` replaces the default opaque instance id; it must be unique per process, or
    the probe will take several workers for one.

    Paths (exclusions, the fingerprint path) are matched relative to the ASGI ``root_path``
    (``uvicorn --root-path /api``). CORS preflights (``OPTIONS`` with ``Origin`` and
    ``Access-Control-Request-Method``) pass through unauthenticated to the app, whose CORS
    middleware answers them, unless ``allow_preflight=False``: browsers never send credentials
    on a preflight.

    The fingerprint endpoint is public but says only what the probe needs (kids, an opaque
    instance id, opaque ids of sibling workers). Hostname, pid, environment, the variable read and
    strength warnings are added for requests carrying ``detail_token`` (default:
    ``$KEYDRIFT_DETAIL_TOKEN``) in the ``x-keydrift-detail-token`` header: a credential of its
    own, at least 32 characters, never one of the signing keys.

    ``metrics`` (a :class:`keydrift.metrics.KeydriftMetrics`) publishes the keys this process
    holds and counts rejections by reason; ``metrics_path`` (e.g. ``"/metrics"``) also serves the
    Prometheus exposition there, unauthenticated like the fingerprint endpoint. See
    docs/monitoring.md.
    """

    def __init__(
        self,
        app: ASGIApp,
        keyring: Keyring | None = None,
        *,
        exclude: Iterable[str] = (),
        spec: SecretSpec | None = None,
        environment: str | None = None,
        env: Mapping[str, str] | None = None,
        dotenv_path: str | os.PathLike[str] | None = None,
        cookie: str | None = None,
        query_param: str | None = None,
        websocket_subprotocol: bool = True,
        websocket_denial_body: bool = False,
        fingerprint_path: str | None = DEFAULT_FINGERPRINT_PATH,
        fingerprint_auth: bool = False,
        instance_header: bool = False,
        service_name: str | None = None,
        instance_name: str | None = None,
        audience: str | None = None,
        issuer: str | None = None,
        cache_size: int = 4096,
        detail_token: str | SecretValue | None = None,
        allow_preflight: bool = True,
        metrics: KeydriftMetrics | None = None,
        metrics_path: str | None = None,
    ) -> None:
        self.app = app
        self.spec = spec or DEFAULT_JWT_SPEC
        self._env = env
        self._dotenv_path = dotenv_path
        self._environment = environment
        self._keyring: Keyring | None = None
        self._cache = _TokenCache(0)
        self._cache_size = cache_size
        self._source: dict[str, str | None] = {"kind": "literal", "variable": None}
        exact: set[str] = set()
        prefixes: list[str] = []
        for item in exclude:
            if item.endswith("*"):
                prefixes.append(item[:-1])
            else:
                exact.add(item)
        self._exclude_exact = frozenset(exact)
        self._exclude_prefixes = tuple(prefixes)
        self.cookie = cookie
        self.query_param = query_param
        self.websocket_subprotocol = websocket_subprotocol
        self.websocket_denial_body = websocket_denial_body
        self.fingerprint_path = fingerprint_path
        self.fingerprint_auth = fingerprint_auth
        # Off unless asked for: it names the process behind every response, which only helps
        # someone who is told to look (the probe's per-worker verdicts).
        self.instance_header = instance_header
        self.allow_preflight = allow_preflight
        self._detail_digest = _detail_digest(detail_token, env)
        self.metrics = metrics
        self._metrics_pid = -1
        if metrics_path is not None and metrics is None:
            raise UsageError("metrics_path needs metrics=KeydriftMetrics()")
        self.metrics_path = metrics_path
        self._metrics_app: ASGIApp | None = None
        self._weak: bool | None = None
        self.service_name = service_name or os.environ.get("KEYDRIFT_SERVICE") or "unnamed"
        self.audience = audience
        self.issuer = issuer
        self._instance_name = instance_name
        self._pid = -1
        self._instance = ""
        self._instance_header: tuple[bytes, bytes] = (b"", b"")
        if keyring is not None:
            self._install(keyring, environment)

    # --- keyring ---------------------------------------------------------------------------

    @property
    def keyring(self) -> Keyring:
        """The keyring in use, resolving it now if start-up has not done so yet."""
        if self._keyring is None:
            self._load()
        assert self._keyring is not None
        return self._keyring

    @property
    def environment(self) -> str | None:
        return self._environment

    def set_keyring(self, keyring: Keyring) -> None:
        """Swap the keyring (after a rotation); cached verifications are dropped."""
        self._install(keyring, self._environment)
        self._republish_metrics()

    def _republish_metrics(self) -> None:
        # Only where this process already published: a parent that forks later stays silent.
        if self._metrics_pid == os.getpid():
            self._publish_metrics()

    def _install(self, keyring: Keyring, environment: str | None) -> None:
        if environment is None:
            from keydrift.resolve import resolve_environment

            try:
                environment = resolve_environment(
                    self.spec, env=self._env, dotenv_path=self._dotenv_path
                )
            except KeydriftError:
                environment = None
        self._environment = environment
        self._check_detail_token(keyring)
        self._source = source_of(keyring)
        self._warnings: list[str] = []
        self._weak = None
        # A new cache owned by the new keyring; _verify uses a cache only with its owner, so a
        # request still holding the previous keyring (set_keyring called from another thread)
        # cannot leave a token verified by a dropped key in the new keyring's cache.
        self._cache = _TokenCache(self._cache_size, keyring)
        self._keyring = keyring

    def _load(self) -> None:
        keyring = Keyring.from_spec(
            self.spec, self._environment, env=self._env, dotenv_path=self._dotenv_path,
            audience=self.audience, issuer=self.issuer,
        )
        self._install(keyring, self._environment)
        # The resolver's strength warnings travel with the key (a weak secret accepted outside
        # production-like environments), so the fingerprint endpoint can say why an odd one out
        # is odd.
        current = keyring.keys_info()[0]
        self._warnings = list(current.warnings)
        self._weak = bool(current.warnings)
        self._republish_metrics()
        log.info(
            "keydrift: %s signs with kid %s (%s, %s), verifies %d key(s)",
            self.service_name, keyring.fingerprint, self._source["kind"],
            self._source["variable"] or "-", len(keyring.kids),
        )

    def _check_detail_token(self, keyring: Keyring) -> None:
        if self._detail_digest is None:
            return
        if self._detail_digest[1] in keyring.kids:
            raise UsageError(
                "the fingerprint endpoint's detail token is one of the signing keys",
                advice=f"set {DETAIL_TOKEN_VARIABLE} to a credential of its own "
                "(`keydrift generate`): whoever reads the details must not be able to sign",
            )

    def _detail_allowed(self, scope: Scope) -> bool:
        if self._detail_digest is None:
            return False
        for name, value in scope["headers"]:
            if name == DETAIL_HEADER.encode():
                # Digests of equal length, compared in constant time: neither the length nor a
                # prefix of the credential can be learnt from timing.
                given = hashlib.sha256(value.strip()).digest()
                return hmac.compare_digest(given, self._detail_digest[0])
        return False

    # --- metrics ---------------------------------------------------------------------------

    def _publish_metrics(self) -> None:
        """Publish the keyring on ``metrics`` from this process (once per worker pid).

        Not done at construction: a server that builds the app and then forks workers (gunicorn
        --preload) would otherwise leave the parent's view in the metrics as a phantom worker.
        """
        if self.metrics is None or self._keyring is None:
            return
        self.metrics.observe_keyring(self.spec.name, self._environment, self._keyring,
                                     weak=self._weak)
        self._metrics_pid = os.getpid()

    async def _serve_metrics(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._metrics_app is None:
            assert self.metrics is not None
            self._metrics_app = self.metrics.asgi_app()
        await self._metrics_app(scope, receive, send)

    def _count_rejection(self, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.rejected(reason)

    def _ident(self) -> tuple[str, tuple[bytes, bytes]]:
        # Computed per pid: a server that forks workers after import must not report the
        # parent's pid from every child.
        pid = os.getpid()
        if pid != self._pid:
            self._instance = self._instance_name or instance_id()
            self._instance_header = (INSTANCE_HEADER.encode(), self._instance.encode("latin-1"))
            self._pid = pid
        return self._instance, self._instance_header

    # --- ASGI ------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if self.metrics is not None and self._metrics_pid != os.getpid():
            self._publish_metrics()  # servers without lifespan, or a fork after start-up
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _excluded(self, path: str) -> bool:
        return path in self._exclude_exact or (
            bool(self._exclude_prefixes) and path.startswith(self._exclude_prefixes)
        )

    def _preflight(self, scope: Scope) -> bool:
        """A CORS preflight: OPTIONS with Origin and Access-Control-Request-Method (Fetch
        standard). Browsers never attach credentials to it, so authenticating it can only fail."""
        if not self.allow_preflight or scope["method"] != "OPTIONS":
            return False
        names = {name for name, _ in scope["headers"]}
        return b"origin" in names and b"access-control-request-method" in names

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._keyring is not None:
            await self.app(scope, receive, send)
            return
        first = await receive()
        if first["type"] == "lifespan.startup":
            try:
                self._load()
                self._publish_metrics()
            except KeydriftError as exc:
                # The server logs this message and exits non-zero (uvicorn: 3). The inner app
                # never sees the startup: it must not run half-configured.
                await send({"type": "lifespan.startup.failed",
                            "message": f"keydrift: refusing to start: {exc}"})
                return
        pending = [first]

        async def replay() -> Message:
            if pending:
                return pending.pop()
            return await receive()

        await self.app(scope, replay, send)

    async def _keyring_or_none(self) -> Keyring | None:
        if self._keyring is not None:
            return self._keyring
        try:
            self._load()
        except KeydriftError as exc:
            log.error("keydrift: no usable keyring: %s", exc.one_line())
            return None
        return self._keyring

    def _verify(self, keyring: Keyring, token: str) -> dict[str, Any]:
        cache = self._cache
        if cache.owner is not keyring:
            return keyring.verify(token)  # the keyring was swapped since this request read it
        claims = cache.get(token)
        if claims is None:
            claims = keyring.verify(token)
            cache.put(token, claims)
        return claims

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = relative_path(scope)
        if path == self.fingerprint_path:
            await self._fingerprint(scope, send)
            return
        if path == self.metrics_path:
            await self._serve_metrics(scope, receive, send)
            return
        if self._excluded(path) or self._preflight(scope):
            _put_keyring(scope, self._keyring)
            await self.app(scope, receive, self._with_instance(send))
            return
        keyring = await self._keyring_or_none()
        if keyring is None:
            await self._unavailable(send)
            return
        token, via = self._http_token(scope)
        if token is None:
            log.info("keydrift: 401 %s: missing_token", path)
            where = f" or the {self.cookie} cookie" if self.cookie else ""
            await self._deny_http(send, "missing_token",
                                  f"no bearer token in the Authorization header{where}")
            return
        try:
            claims = self._verify(keyring, token)
        except TokenRejected as exc:
            self._count_rejection(exc.reason)
            log.warning("keydrift: 401 %s: %s (%s) [token from %s]", path, exc.reason,
                        exc.detail, via)
            await self._deny_http(send, exc.reason, exc.detail, exc.advice)
            return
        _put_claims(scope, claims, keyring)
        await self.app(scope, receive, self._with_instance(send))

    def _with_instance(self, send: Send) -> Send:
        if not self.instance_header:
            return send
        header = self._ident()[1]

        async def send_with_instance(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        return send_with_instance

    def _http_token(self, scope: Scope) -> tuple[str | None, str]:
        cookie_header: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                token = _bearer(value)
                if token is not None:
                    return token, "authorization"
            elif name == b"cookie" and self.cookie:
                cookie_header = value
        if cookie_header is not None and self.cookie:
            token = _cookie(cookie_header, self.cookie)
            if token:
                return token, "cookie"
        return None, ""

    async def _deny_http(
        self, send: Send, reason: str, detail: str, advice: str | None = None
    ) -> None:
        # RFC 6750 3.1: a request without credentials gets the bare challenge, no error code.
        if reason == "missing_token":
            challenge = b'Bearer realm="keydrift"'
        else:
            challenge = f'Bearer error="invalid_token", error_description="{reason}"'.encode()
        body: dict[str, Any] = {"error": "invalid_token" if reason != "missing_token"
                                else "missing_token", "reason": reason, "detail": detail}
        if advice:
            body["advice"] = advice
        await self._json(send, 401, body, [(b"www-authenticate", challenge)])

    async def _json(
        self, send: Send, status: int, body: Mapping[str, Any],
        extra: Iterable[tuple[bytes, bytes]] = (),
    ) -> None:
        payload = json.dumps(body, separators=(",", ":")).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            (b"cache-control", b"no-store"),
            *extra,
        ]
        if self.instance_header:
            headers.append(self._ident()[1])
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    # --- WebSocket -------------------------------------------------------------------------

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = relative_path(scope)
        if self._excluded(path):
            _put_keyring(scope, self._keyring)
            await self.app(scope, receive, send)
            return
        keyring = await self._keyring_or_none()
        token, via = self._ws_token(scope)
        reason, detail = "", ""
        claims: dict[str, Any] | None = None
        if keyring is None:
            reason, detail = "unavailable", "authentication is not configured"
        elif token is None:
            reason, detail = "missing_token", "no bearer token in the Authorization header or " \
                "the Sec-WebSocket-Protocol pair 'bearer, <token>'" + (
                    f" or the {self.query_param} query parameter" if self.query_param else "")
        else:
            try:
                claims = self._verify(keyring, token)
            except TokenRejected as exc:
                self._count_rejection(exc.reason)
                reason, detail = exc.reason, exc.detail
        if claims is None:
            log.warning("keydrift: refused WebSocket handshake %s: %s (%s)%s", path, reason,
                        detail, f" [token from {via}]" if via else "")
            await self._deny_ws(scope, receive, send, reason, detail)
            return
        _put_claims(scope, claims, keyring)
        if via != "subprotocol":
            await self.app(scope, receive, send)
            return
        assert token is not None
        # The app never sees the token as a subprotocol, and the handshake answers "bearer"
        # (one of the offered protocols, as RFC 6455 requires) unless the app picks its own.
        scope = dict(scope)
        scope["subprotocols"] = [p for p in scope.get("subprotocols", ()) if p != token]
        scope["headers"] = [
            (n, _strip_protocol(v, token) if n == b"sec-websocket-protocol" else v)
            for n, v in scope["headers"]
        ]

        async def send_bearer(message: Message) -> None:
            if message["type"] == "websocket.accept" and not message.get("subprotocol"):
                message = dict(message)
                message["subprotocol"] = WS_BEARER_SUBPROTOCOL
            await send(message)

        await self.app(scope, receive, send_bearer)

    def _ws_token(self, scope: Scope) -> tuple[str | None, str]:
        for name, value in scope["headers"]:
            if name == b"authorization":
                token = _bearer(value)
                if token is not None:
                    return token, "authorization"
        if self.websocket_subprotocol:
            protocols = [p.strip() for p in scope.get("subprotocols", ())]
            for i, proto in enumerate(protocols[:-1]):
                if proto.lower() == WS_BEARER_SUBPROTOCOL and protocols[i + 1]:
                    return protocols[i + 1], "subprotocol"
        if self.query_param:
            values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(
                self.query_param
            )
            if values and values[0]:
                return values[0], "query"
        return None, ""

    async def _deny_ws(
        self, scope: Scope, receive: Receive, send: Send, reason: str, detail: str
    ) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return  # the client went away before the handshake
        extensions = scope.get("extensions") or {}
        if self.websocket_denial_body and "websocket.http.response" in extensions:
            # The denial-response extension lets the 403 carry the reason, so clients (and the
            # probe) learn why; plain servers only know "close before accept".
            body = json.dumps({"error": "invalid_token" if reason != "missing_token"
                               else reason, "reason": reason, "detail": detail}).encode()
            challenge = (
                'Bearer realm="keydrift"' if reason == "missing_token"
                else f'Bearer error="invalid_token", error_description="{reason}"'
            ).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", challenge),
            ]
            if self.instance_header:
                headers.append(self._ident()[1])
            await send({"type": "websocket.http.response.start", "status": 403,
                        "headers": headers})
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            # A close before accept is answered by the server with HTTP 403, before upgrade.
            await send({"type": "websocket.close", "code": 1008})

    # --- fingerprint endpoint --------------------------------------------------------------

    def _siblings(self) -> list[str]:
        """The ``siblings`` the public document announces.

        A custom instance name is not derived from the pid, so other workers cannot be named;
        but a process that is the only worker on its socket can still say so, which lets the
        probe stop after its first answer (one request per single-process instance).
        """
        if not self._instance_name:
            return sibling_ids()
        return [self._ident()[0]] if sibling_pids() == [os.getpid()] else []

    def describe(self, *, detail: bool = False) -> dict[str, Any]:
        """The fingerprint document: which keys this instance holds, by thumbprint only.

        The public part is what ``keydrift probe`` needs: kids, an opaque instance id and the
        opaque ids of the sibling workers. ``detail`` (for holders of the detail token) adds
        what tells an operator where to look and would help an attacker choose a target:
        hostname, pids, environment, the variable read, strength warnings.
        """
        keyring = self.keyring
        doc: dict[str, Any] = {
            "schema_version": FINGERPRINT_SCHEMA_VERSION,
            "instance_id": self._ident()[0],
            "algorithm": keyring.algorithm,
            "signing_kid": keyring.current_kid,
            "verification_kids": list(keyring.kids),
            "siblings": self._siblings(),
        }
        if detail:
            doc["detail"] = {
                "keydrift": __version__,
                "service": self.service_name,
                "hostname": socket.gethostname(),
                "pid": os.getpid(),
                "sibling_pids": sibling_pids(),
                "environment": self._environment,
                "key_source": dict(self._source),
                "key_warnings": list(self._warnings),
            }
        return doc

    async def _unavailable(self, send: Send) -> None:
        # No keyring could be resolved: refuse everything rather than serve unauthenticated.
        await self._json(send, 503, {"error": "unavailable",
                                     "detail": "authentication is not configured"})

    async def _fingerprint(self, scope: Scope, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await self._json(send, 405, {"error": "method_not_allowed"},
                             [(b"allow", b"GET, HEAD")])
            return
        keyring = await self._keyring_or_none()
        if keyring is None:
            await self._unavailable(send)
            return
        token, _ = self._http_token(scope)
        verdict: dict[str, Any] | None = None
        if token is not None:
            try:
                self._verify(keyring, token)
                verdict = {"accepted": True}
            except TokenRejected as exc:
                verdict = {"accepted": False, "reason": exc.reason, "detail": exc.detail}
        if self.fingerprint_auth and not (verdict and verdict["accepted"]):
            reason = verdict["reason"] if verdict else "missing_token"
            detail = verdict["detail"] if verdict else "this endpoint requires a bearer token"
            await self._deny_http(send, reason, detail)
            return
        doc = self.describe(detail=self._detail_allowed(scope))
        if verdict is not None:
            # Lets the probe check a token on this exact worker, which a shared port hides.
            doc["token"] = verdict
        await self._json(send, 200, doc)


def _put_claims(scope: Scope, claims: dict[str, Any], keyring: Keyring | None) -> None:
    state = scope.get("state")
    if state is None:
        state = scope["state"] = {}
    state[CLAIMS_KEY] = claims
    state[SUBJECT_KEY] = claims.get("sub")
    state[KEYRING_KEY] = keyring


def _put_keyring(scope: Scope, keyring: Keyring | None) -> None:
    # Handlers that sign (a login route, usually excluded) find the keyring here, which
    # matters when the middleware was added with `app.add_middleware` and is out of reach.
    if keyring is not None:
        state = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        state[KEYRING_KEY] = keyring


def _bearer(value: bytes) -> str | None:
    scheme, _, token = value.partition(b" ")
    if scheme.lower() != b"bearer":
        return None
    token = token.strip()
    return token.decode("latin-1") if token else None


def _cookie(header: bytes, name: str) -> str | None:
    # http.cookies.SimpleCookie drops the whole header on one malformed pair, which browsers
    # send routinely; a split on ';' is what Starlette does too.
    for pair in header.decode("latin-1").split(";"):
        key, sep, value = pair.strip().partition("=")
        if sep and key == name:
            return value.strip().strip('"') or None
    return None


def _strip_protocol(value: bytes, token: str) -> bytes:
    parts = [p.strip() for p in value.decode("latin-1").split(",")]
    return ", ".join(p for p in parts if p != token).encode("latin-1")


def claims_dependency(*, required: bool = True) -> Callable[..., Any]:
    """A FastAPI dependency returning the verified claims (needs the ``asgi`` extra).

    ``Claims = Annotated[dict, Depends(claims_dependency())]``. With ``required=True`` a request
    the middleware did not authenticate (an excluded path) gets 401, a WebSocket a 1008 close;
    with ``required=False`` it gets ``None``.
    """
    from starlette.exceptions import HTTPException, WebSocketException
    from starlette.requests import HTTPConnection

    def keydrift_claims(connection: HTTPConnection) -> dict[str, Any] | None:
        state = connection.scope.get("state") or {}
        claims: dict[str, Any] | None = state.get(CLAIMS_KEY)
        if claims is None and required:
            if connection.scope["type"] == "websocket":
                raise WebSocketException(code=1008, reason="authentication required")
            raise HTTPException(401, "authentication required",
                                headers={"WWW-Authenticate": 'Bearer realm="keydrift"'})
        return claims

    # `from __future__ import annotations` makes the annotation a string that FastAPI would look
    # up in this module's globals, where Starlette is deliberately not imported.
    keydrift_claims.__annotations__ = {
        "connection": HTTPConnection, "return": dict[str, Any] | None,
    }
    return keydrift_claims


def _detail_digest(
    token: str | SecretValue | None, env: Mapping[str, str] | None
) -> tuple[bytes, str] | None:
    """SHA-256 and RFC 7638 thumbprint of the detail token; the token itself is not kept."""
    if token is None:
        token = (os.environ if env is None else env).get(DETAIL_TOKEN_VARIABLE) or None
    if token is None:
        return None
    value = token if isinstance(token, SecretValue) else SecretValue(token)
    raw = value.reveal()
    if len(raw) < MIN_DETAIL_TOKEN_LENGTH:
        raise UsageError(
            f"the fingerprint endpoint's detail token is {len(raw)} bytes; at least "
            f"{MIN_DETAIL_TOKEN_LENGTH} are required",
            advice="generate one with `keydrift generate`",
        )
    return hashlib.sha256(raw.strip()).digest(), oct_thumbprint(raw)
