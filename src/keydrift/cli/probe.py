"""``keydrift probe``: ask live replicas for their key fingerprints and find the odd one out."""

from __future__ import annotations

import json
import sys

import click

from keydrift.keys import short


@click.command("probe")
@click.argument("urls", nargs=-1, required=True)
@click.option("--samples", "-n", type=click.IntRange(1, 10_000), default=8, show_default=True,
              help="Requests per URL, each on a new connection, a few at a time (more finds "
              "every worker behind a port).")
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
              help="Seconds per request or handshake.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def command(urls: tuple[str, ...], samples: int, token: str | None, login_url: str | None,
            login_body: str | None, http_path: str | None, ws_path: str | None, ws_auth: str,
            fingerprint_path: str, detail_token: str | None, timeout: float, fmt: str) -> int:
    """Probe URLS: group every instance by signing kid and check a token everywhere.

    Exit 0 when all instances agree and accept the token, 1 on disagreement, rejection or an
    unreachable replica, 2 on usage errors.
    """
    from keydrift.errors import UsageError
    from keydrift.runtime.probe import parse_login_body, run_probe

    if login_body is not None and login_url is None:
        raise UsageError("--login-body needs --login URL")
    source = click.get_current_context().get_parameter_source("token")
    if token and login_url:
        if source is click.core.ParameterSource.ENVIRONMENT:
            token = None  # an explicit --login wins over a token left in the environment
        else:
            raise UsageError("give either --token or --login, not both")
    result = run_probe(
        list(urls), samples=samples, token=token, login_url=login_url,
        login_body=parse_login_body(login_body) if login_url else None,
        http_path=http_path, ws_path=ws_path, ws_auth=ws_auth, timeout=timeout,
        fingerprint_path=fingerprint_path, detail_token=detail_token,
    )
    if fmt == "json":
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
    else:
        _text(result.to_dict())
    return result.exit_code


def _text(doc: dict[str, object]) -> None:
    echo = click.echo
    instances = doc["instances"]
    groups = doc["groups"]
    assert isinstance(instances, list) and isinstance(groups, list)
    urls = doc["urls"]
    assert isinstance(urls, list)
    echo(f"probed {len(urls)} URL(s), {doc['samples']} sample(s) each: "
         f"{len(instances)} instance(s), {len(groups)} signing key(s) "
         f"in {doc['duration_s']}s")
    majority = doc["majority_kid"]
    for i, group in enumerate(groups):
        label = "majority" if group["signing_kid"] == majority else (
            "only key" if len(groups) == 1 else "odd one out" if majority else "disagrees")
        echo(f"  group {i + 1}: kid {group['short_kid']}  {group['size']} instance(s)  "
             f"[{label}]  source {', '.join(group['key_sources'])}")
        for inst in (x for x in instances if x["signing_kid"] == group["signing_kid"]):
            verdict = ""
            if inst["token"] is not None:
                tok = inst["token"]
                verdict = "  token accepted" if tok.get("accepted") else \
                    f"  token REJECTED: {tok.get('reason')} ({tok.get('detail')})"
            echo(f"    {inst['instance_id']:<24} {inst['url']}  service {inst['service']}  "
                 f"env {inst['environment'] or '-'}{verdict}")
            for warning in inst["key_warnings"]:
                echo(f"      weak key: {warning}")
    if len(groups) > 1:
        echo(f"  rotation compatible (every instance verifies every signing kid): "
             f"{'yes' if doc['rotation_compatible'] else 'no'}")
    token = doc["token"]
    if isinstance(token, dict):
        kid = token.get("kid")
        login = token.get("login")
        where = f"login {login['url']}" if isinstance(login, dict) else "--token"
        echo(f"token from {where}: kid {short(kid) if isinstance(kid, str) else '?'}")
    for report in urls:
        for key in ("http", "websocket"):
            check = report.get(key)
            if not check:
                continue
            rate = check["acceptance_rate"]
            pct = "n/a" if rate is None else f"{rate:.0%}"
            line = (f"  {check['kind']:<9} {report['url']}{check['target']}: "
                    f"{check['accepted']}/{check['attempts']} accepted ({pct})")
            if check["reasons"]:
                line += "  " + ", ".join(f"{r} x{n}" for r, n in check["reasons"].items())
            echo(line)
            for iid, per in check["by_instance"].items():
                r = per["acceptance_rate"]
                echo(f"      {iid}: {per['accepted']} accepted, {per['rejected']} rejected"
                     + ("" if r is None else f" ({r:.0%})"))
    problems = doc["problems"]
    assert isinstance(problems, list)
    if problems:
        echo("DISAGREEMENT:" if len(groups) > 1 else "PROBLEMS:")
        for p in problems:
            echo(f"  - {p}")
    else:
        echo("OK: every instance signs with the same key" + (
            " and accepts the token" if token else ""))
