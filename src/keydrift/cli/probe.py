"""``keydrift probe``: ask live replicas for their key fingerprints and find the odd one out."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from keydrift._format import printable, safe_line
from keydrift.keys import short

__all__ = ["command"]

MAX_ENDPOINTS_STDIN = 16 * 1024 * 1024


@click.command("probe")
@click.argument("urls", nargs=-1)
@click.option("--endpoints", "endpoints", default=None, metavar="FILE|-",
              help="Probe every ready address of Kubernetes EndpointSlice or Endpoints JSON "
              "(`kubectl get endpointslices -l kubernetes.io/service-name=NAME -o json`).")
@click.option("--port", "port_name", default=None, metavar="NAME|NUMBER",
              help="With --endpoints: the named port (needed when there are several).")
@click.option("--scheme", type=click.Choice(["http", "https"]), default="http",
              show_default=True, help="With --endpoints: the scheme of the addresses.")
@click.option("--samples", "-n", type=click.IntRange(1, 10_000), default=8, show_default=True,
              help="Requests per URL at most, each on a new connection, a few at a time (more "
              "finds every worker behind a port); fewer once every worker the server "
              "announces has answered.")
@click.option("--token", default=None, envvar="KEYDRIFT_PROBE_TOKEN",
              help="Bearer token to check on every instance (or $KEYDRIFT_PROBE_TOKEN).")
@click.option("--login", "login_url", default=None,
              help="Obtain the token by POSTing to this URL (round trip: one replica signs, "
              "all verify).")
@click.option("--login-body", default=None, help="JSON body for --login.")
@click.option("--http-path", default=None,
              help="Protected HTTP path to call with the token, e.g. /me.")
@click.option("--ws", "ws_path", default=None,
              help="WebSocket path to open with the token, e.g. /ws/chat.")
@click.option("--ws-auth", type=click.Choice(["subprotocol", "header", "query"]),
              default="subprotocol", show_default=True,
              help="How the WebSocket carries the token.")
@click.option("--fingerprint-path", default="/.well-known/keydrift", show_default=True,
              help="Where the services serve the fingerprint endpoint.")
@click.option("--detail-token", default=None, envvar="KEYDRIFT_DETAIL_TOKEN",
              help="Credential for the fingerprint endpoint's details (service, environment, "
              "variable, warnings), sent in x-keydrift-detail-token (or $KEYDRIFT_DETAIL_TOKEN).")
@click.option("--timeout", type=click.FloatRange(0.05, 300), default=5.0, show_default=True,
              help="Seconds for each request or handshake, in total.")
@click.option("--max-time", type=click.FloatRange(0.1, 3600), default=120.0, show_default=True,
              help="Seconds for the whole run.")
@click.option("--allow-rotation", is_flag=True,
              help="Exit 0 while a two-phase rotation is in progress (several signing keys, "
              "every one verified by every instance).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def command(urls: tuple[str, ...], endpoints: str | None, port_name: str | None, scheme: str,
            samples: int, token: str | None, login_url: str | None, login_body: str | None,
            http_path: str | None, ws_path: str | None, ws_auth: str, fingerprint_path: str,
            detail_token: str | None, timeout: float, max_time: float, allow_rotation: bool,
            fmt: str) -> int:
    """Probe URLS: group every instance by signing kid and check a token everywhere.

    URLS are http(s) base URLs, or dns+http://NAME:PORT to probe every address NAME resolves
    to (a headless Service). Exit 0 when all instances agree and accept the token (or, with
    --allow-rotation, are mid-way through a correct rotation), 1 on disagreement, rejection or
    an unreachable replica, 2 on usage errors.
    """
    from keydrift.errors import UsageError
    from keydrift.runtime.probe import parse_login_body, run_probe

    if login_body is not None and login_url is None:
        raise UsageError("--login-body needs --login URL")
    if (port_name is not None) and endpoints is None:
        raise UsageError("--port applies to --endpoints")
    if not urls and endpoints is None:
        raise UsageError("no URL to probe",
                         advice="keydrift probe http://host:port ..., dns+http://name:port, or "
                         "--endpoints FILE")
    source = click.get_current_context().get_parameter_source("token")
    if token and login_url:
        if source is click.core.ParameterSource.ENVIRONMENT:
            token = None  # an explicit --login wins over a token left in the environment
        else:
            raise UsageError("give either --token or --login, not both")
    targets = _endpoints(endpoints, port_name, scheme) if endpoints is not None else []
    progress = _Progress() if _stderr_is_tty() else None
    try:
        result = run_probe(
            list(urls), samples=samples, token=token, login_url=login_url,
            login_body=parse_login_body(login_body) if login_url else None,
            http_path=http_path, ws_path=ws_path, ws_auth=ws_auth, timeout=timeout,
            max_time=max_time, fingerprint_path=fingerprint_path, targets=targets,
            allow_rotation=allow_rotation, progress=progress, detail_token=detail_token,
        )
    finally:
        if progress is not None:
            progress.clear()
    if fmt == "json":
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
    else:
        _render(result.to_dict())
    return result.exit_code


def _endpoints(source: str, port: str | None, scheme: str) -> list[Any]:
    from keydrift.errors import InputError
    from keydrift.runtime.discovery import endpoints_targets

    data = sys.stdin.buffer.read(MAX_ENDPOINTS_STDIN + 1) if source == "-" else _read_file(source)
    if len(data) > MAX_ENDPOINTS_STDIN:
        raise InputError("larger than 16 MiB: not an endpoint list", where=source)
    return endpoints_targets(data, port=port, scheme=scheme, where=source)


def _read_file(path: str) -> bytes:
    import os
    import stat

    from keydrift.errors import InputError

    try:
        # stat first: a FIFO or a device would block (or never end) on open/read.
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise InputError("not a regular file (use - for stdin)", where=path)
        with open(path, "rb") as fh:
            return fh.read(MAX_ENDPOINTS_STDIN + 1)
    except FileNotFoundError:
        raise InputError("file does not exist", where=path) from None
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", where=path) from None


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError, OSError):
        return False


class _Progress:
    """A one-line progress display on stderr, shown once the run has taken over a second."""

    def __init__(self) -> None:
        self.shown = False
        self.started = time.monotonic()

    def __call__(self, p: Any) -> None:
        if p.elapsed_s < 1.0:
            return
        line = (f"keydrift probe: {p.stage} {p.urls_done}/{p.urls_total} URL(s), "
                f"{p.instances} instance(s), {p.elapsed_s:.1f}s")
        sys.stderr.write("\r\x1b[K" + line)
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _out(line: str) -> None:
    # Every line goes through printable(): instance ids, services, reasons and details come
    # from the servers probed, and must not forge report lines or reach the terminal raw.
    click.echo(safe_line(printable(line)))


def _fix(item: dict[str, Any], indent: str) -> None:
    _out(f"{indent}fix: {item['fix']}")
    _out(f"{indent}docs: {item['docs']}")


def _render(doc: dict[str, Any]) -> None:
    instances = doc["instances"]
    groups = doc["groups"]
    urls = doc["urls"]
    samples = sorted({u["samples"] for u in urls})
    each = (f"{samples[0]} sample(s) each" if len(samples) == 1
            else f"{samples[0]}-{samples[-1]} samples each")
    _out(f"probed {len(urls)} URL(s), {each}: {len(instances)} instance(s), "
         f"{len(groups)} signing key(s) in {doc['duration_s']}s")
    labels = {u["url"]: u["label"] for u in urls if u.get("label")}
    majority = doc["majority_kid"]
    for i, group in enumerate(groups):
        label = "majority" if group["signing_kid"] == majority else (
            "only key" if len(groups) == 1 else "odd one out" if majority else "disagrees")
        _out(f"  group {i + 1}: kid {group['short_kid']}  {group['size']} instance(s)  "
             f"[{label}]  source {', '.join(group['key_sources'])}")
        for inst in (x for x in instances if x["signing_kid"] == group["signing_kid"]):
            verdict = ""
            if inst["token"] is not None:
                tok = inst["token"]
                verdict = "  token accepted" if tok.get("accepted") else \
                    f"  token REJECTED: {tok.get('reason')} ({tok.get('detail')})"
            where = inst["url"] + (f" ({labels[inst['url']]})" if inst["url"] in labels else "")
            _out(f"    {inst['instance_id']:<24} {where}  service {inst['service'] or '-'}  "
                 f"env {inst['environment'] or '-'}{verdict}")
            for warning in inst["key_warnings"]:
                _out(f"      weak key: {warning}")
        if group.get("advice") and len(groups) > 1:
            _fix(group["advice"], "    ")
    if len(groups) > 1:
        _out(f"  rotation compatible (every instance verifies every signing kid): "
             f"{'yes' if doc['rotation_compatible'] else 'no'}")
    token = doc["token"]
    if isinstance(token, dict):
        kid = token.get("kid")
        login = token.get("login")
        where = f"login {login['url']}" if isinstance(login, dict) else "--token"
        _out(f"token from {where}: kid {short(kid) if isinstance(kid, str) else '?'}")
    for report in urls:
        for key in ("http", "websocket"):
            check = report.get(key)
            if not check:
                continue
            rate = check["acceptance_rate"]
            pct = "n/a" if rate is None else f"{rate:.0%}"
            line = (f"  {check['kind']:<9} {report['url']}{check['target']}: "
                    f"{check['accepted']}/{check['attempts']} accepted ({pct})")
            if check["rejected"]:
                line += f", {check['rejected']} denied"
            if check["reasons"]:
                line += "  " + ", ".join(f"{r} x{n}" for r, n in check["reasons"].items())
            _out(line)
            for iid, per in check["by_instance"].items():
                r = per["acceptance_rate"]
                _out(f"      {iid}: {per['accepted']} accepted, {per['rejected']} rejected"
                     + ("" if r is None else f" ({r:.0%})"))
            if check.get("note"):
                _out(f"      note: {check['note']}")
    advice = [a for a in doc["advice"] if a["about"] not in ("group", "rotation")]
    grouped = [a for a in doc["advice"] if a["about"] in ("group", "rotation")]
    if doc["problems"]:
        if doc["exit_code"] == 0:
            _out("OK (--allow-rotation): a two-phase rotation is in progress")
        else:
            _out("DISAGREEMENT:" if len(groups) > 1 else "PROBLEMS:")
        for item in grouped[:1] + advice:
            _out(f"  - {item['problem']}")
            _fix(item, "    ")
    else:
        _out("OK: every instance signs with the same key" + (
            " and accepts the token" if token else ""))
