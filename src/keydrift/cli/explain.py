"""``keydrift explain``: say why a token is rejected, and which secret really signed it."""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import click

from keydrift.errors import InputError, UsageError

__all__ = ["command", "parse_now"]

MAX_STDIN_BYTES = 1024 * 1024


_NOW_ADVICE = "e.g. --now 2026-11-23T16:00:00Z or --now 1795449600"
# datetime's range (years 1 to 9999): every time explain prints must be representable.
_MIN_EPOCH = datetime(1, 1, 1, tzinfo=UTC).timestamp()
_MAX_EPOCH = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()


def parse_now(text: str) -> float:
    """``--now``: epoch seconds, ISO 8601 (``2026-11-23T16:00:00Z``) or ``now``.

    ``nan``, ``inf`` and numbers outside years 1-9999 (``1e400``) are usage errors: float()
    accepts them, but no clock reads them and every comparison with them is meaningless.
    """
    value = text.strip()
    if value.lower() == "now":
        return time.time()
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        if not math.isfinite(number) or not _MIN_EPOCH <= number <= _MAX_EPOCH:
            raise UsageError(
                f"--now {_shown(text)} is not a usable time: epoch seconds must be a finite "
                "number between years 1 and 9999",
                advice=_NOW_ADVICE,
            )
        return number
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--now {_shown(text)} is neither epoch seconds nor an ISO 8601 time",
            advice=_NOW_ADVICE,
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # a token's times are UTC; so is a bare --now
    try:
        return parsed.timestamp()
    except (OverflowError, ValueError):
        raise UsageError(f"--now {_shown(text)} is outside the range of times",
                         advice=_NOW_ADVICE) from None


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def _read_token(arg: str | None) -> bytes | str:
    if arg is None or arg == "-":
        stream = sys.stdin.buffer
        if arg is None and _stdin_is_tty():
            raise UsageError("no token given", advice="keydrift explain TOKEN, or pipe it: "
                             "... | keydrift explain -")
        data: bytes = stream.read(MAX_STDIN_BYTES + 1)
        if len(data) > MAX_STDIN_BYTES:
            raise InputError("stdin is larger than 1 MiB; that is not a token", where="-")
        return data
    return arg


def _model_candidates(paths: Sequence[str]) -> tuple[object, list[str]]:
    """Build the ``check`` model for ``paths`` if this build has it (else a note why not).

    Always for every environment: another environment's secret is a prime suspect, and the
    model drops other environments' assignments when asked for one.
    """
    try:
        from keydrift.check import build_model

        return build_model(list(paths)), []
    except ImportError:
        return None, ["repository sources are not available in this build; PATH arguments "
                      "were not read (only the process environment and flags were used)"]


@click.command(
    "explain",
    context_settings={"help_option_names": ["-h", "--help"]},
    short_help="Say why a token is rejected and which secret signed it.",
)
@click.argument("args", nargs=-1, metavar="[TOKEN|-] [PATH ...]")
@click.option("--secret-env", "secret_envs", multiple=True, metavar="NAME",
              help="An expected secret, read from this process environment variable.")
@click.option("--secret-file", "secret_files", multiple=True, metavar="FILE",
              help="An expected secret, read from a file (its exact bytes are kept).")
@click.option("--audience", "audiences", multiple=True, metavar="A",
              help="Expected audience (repeatable; any one must be in aud).")
@click.option("--issuer", metavar="I", help="Expected issuer (iss).")
@click.option("--algorithms", "algorithms", multiple=True, metavar="ALG[,ALG]",
              help="Allowed algorithms (default HS256,HS384,HS512).")
@click.option("--leeway", type=click.IntRange(min=0, max=86400), default=0, show_default=True,
              metavar="S", help="Clock leeway in seconds for exp, nbf and iat.")
@click.option("--now", "now_text", metavar="TIME",
              help="Judge times as of TIME (epoch seconds or ISO 8601) instead of now.")
@click.option("--environment", metavar="ENV",
              help="The verifier's environment: its values under PATH are the expected "
              "secrets, and the strength policy of ENV applies to candidates that name none.")
@click.option("--no-process-env", is_flag=True,
              help="Do not use this process's environment variables as candidates.")
@click.option("--show-weak-secret", is_flag=True,
              help="Print the known-weak list entry that signed the token (it is public).")
@click.option("--decode", "decode_only", is_flag=True,
              help="Only decode: header, claims, times and structural problems; no candidates. "
              "Exit 0 for a well-formed token.")
@click.option("--jwks", "jwks_source", metavar="FILE|URL",
              help="The verifier's key set for RS/ES/PS/EdDSA tokens (a JWKS file or URL).")
@click.option("--old-jwks", "old_jwks", multiple=True, metavar="FILE|URL",
              help="An older key set (repeatable): names a kid that was rotated out.")
@click.option("--jwks-timeout", type=click.FloatRange(0.1, 60), default=5.0, show_default=True,
              metavar="S", help="Total seconds allowed for fetching each key set URL.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Report format.")
def command(
    args: tuple[str, ...],
    secret_envs: tuple[str, ...],
    secret_files: tuple[str, ...],
    audiences: tuple[str, ...],
    issuer: str | None,
    algorithms: tuple[str, ...],
    leeway: int,
    now_text: str | None,
    environment: str | None,
    no_process_env: bool,
    show_weak_secret: bool,
    decode_only: bool,
    jwks_source: str | None,
    old_jwks: tuple[str, ...],
    jwks_timeout: float,
    fmt: str,
) -> int:
    """Decode TOKEN without trusting it, test every candidate secret and the variants real
    delivery paths produce, audit it against the known-weak list, and judge its claims.

    Candidates come from --secret-env/--secret-file (the expected secrets), this process's
    environment (the spec's variables and NAME_FILE) and every secret-like assignment under
    PATH; asymmetric tokens are checked against --jwks. Exit 0: verified with the expected
    secret and valid claims (with --decode: a well-formed token); 1: rejected; 2: usage error or
    not a token.
    """
    from keydrift.explain import (
        Expectations,
        algorithms_arg,
        explain,
        from_flags,
        from_process_env,
        render_text,
        to_json_text,
    )
    from keydrift.explain.candidates import read_model
    from keydrift.explain.jwks import JWKS_ALGORITHMS, load_jwks
    from keydrift.spec import ALGORITHMS, HMAC_ALGORITHMS, SecretSpec, normalize_environment

    token_arg = args[0] if args else None
    paths = list(args[1:])
    now = parse_now(now_text) if now_text is not None else time.time()
    if environment is not None:
        SecretSpec.validate_environment(environment.strip())
    if old_jwks and jwks_source is None:
        raise UsageError("--old-jwks needs --jwks (the verifier's current key set)")
    known_algs = tuple(dict.fromkeys((*ALGORITHMS, *JWKS_ALGORITHMS)))
    algs = algorithms_arg(algorithms) or (JWKS_ALGORITHMS if jwks_source else HMAC_ALGORITHMS)
    unknown = [a for a in algs if a not in known_algs]
    if unknown:
        raise UsageError(f"--algorithms: unknown {', '.join(unknown)}",
                         advice=f"use some of {', '.join(known_algs)}")
    expect = Expectations(audience=tuple(audiences), issuer=issuer, algorithms=algs,
                          leeway=leeway,
                          environment=normalize_environment(environment) if environment else None)
    candidates = [] if decode_only else from_flags(secret_envs, secret_files,
                                                   environment=environment)
    if not (no_process_env or decode_only):
        flagged = {c.variable for c in candidates if c.variable}
        env_candidates = from_process_env(mark_expected=not candidates)
        candidates.extend(c for c in env_candidates if c.variable not in flagged)
    notes: list[str] = []
    model = None
    if paths and not decode_only:
        model, notes = _model_candidates(paths)
        if model is not None:
            model = read_model(model, environment)
            candidates.extend(model.candidates)
    keysets = []
    if jwks_source is not None and not decode_only:
        keysets = [load_jwks(src, timeout=jwks_timeout) for src in (jwks_source, *old_jwks)]
    token = _read_token(token_arg)
    result = explain(token, candidates, expectations=expect, now=now, model=model, notes=notes,
                     decode_only=decode_only, jwks=keysets)
    if result.malformed is not None and token_arg not in (None, "-") and os.path.isfile(
        token_arg
    ):
        result.notes.append(f"{token_arg!r} is a file: to read a token from it, run "
                            f"`keydrift explain - < {token_arg}`")
    if fmt == "json":
        click.echo(to_json_text(result, show_weak_secret=show_weak_secret))
    else:
        click.echo(render_text(result, show_weak_secret=show_weak_secret), nl=False)
    v = result.verdict
    reason = f" ({v.reason})" if v.reason else ""
    click.echo(f"keydrift explain: {v.status}{reason}", err=True)
    sys.stdout.flush()
    return v.exit_code
