"""``KEY=VALUE`` pairs in deploy command lines: ``--set-env-vars``, ``--update-env-vars``,
``-e``/``--env``, ``--from-literal`` and worker counts (``--workers N``, ``-w N``).

Shared by the Python and shell readers and by compose's ``command:``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "WORKER_VARIABLES",
    "CliPair",
    "deploy_target",
    "logical_lines",
    "pairs_from_args",
    "split_command",
    "workers_from_args",
    "workers_from_settings",
]

_ENV_FLAGS = ("--set-env-vars", "--update-env-vars", "--env-vars", "--set-secrets")
_SHORT_ENV = ("-e", "--env", "--build-arg", "--from-literal", "--set", "--set-string")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_SECRET_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")  # Secret keys may contain '-' and '.'

# Variables that set a server's worker processes (gunicorn, uvicorn and most images read one).
WORKER_VARIABLES = ("WEB_CONCURRENCY", "UVICORN_WORKERS", "GUNICORN_WORKERS", "WORKERS")
_WORKERS = re.compile(r"(?:--workers|--num-workers|--concurrency)(?:=|\s+)(\d+)|(?:^|\s)-w\s*(\d+)")


@dataclass(frozen=True)
class CliPair:
    """A ``KEY=VALUE`` given on a command line, and the flag that carried it."""

    key: str
    value: str
    flag: str


# shlex is quadratic in the length of one command (0.3 s at 100 KB, 8.5 s at 500 KB); a real
# deploy command is far shorter, so longer ones are split on whitespace only.
MAX_SHLEX_CHARS = 16 * 1024


def split_command(text: str) -> list[str]:
    """``shlex`` split, falling back to whitespace when quotes do not balance or the command is
    too long to be a real one."""
    if len(text) > MAX_SHLEX_CHARS:
        return text.split()
    try:
        return shlex.split(text, comments=False, posix=True)
    except ValueError:
        return text.split()


def _split_pairs(arg: str, flag: str, many: bool) -> list[CliPair]:
    out: list[CliPair] = []
    # gcloud's --set-env-vars takes a comma list; `^:^A=1:B=2` changes the delimiter.
    delim = ","
    body = arg
    if many and body.startswith("^") and body.find("^", 1) > 0:
        end = body.find("^", 1)
        delim = body[1:end] or ","
        body = body[end + 1 :]
    parts = body.split(delim) if many else [body]
    for part in parts:
        key, sep, value = part.partition("=")
        key = key.strip()
        if sep and (_SECRET_KEY if flag == "--from-literal" else _KEY).match(key):
            out.append(CliPair(key, value, flag))
    return out


def pairs_from_args(args: Sequence[str]) -> list[CliPair]:
    """Every ``KEY=VALUE`` set by an env flag in ``args`` (already split)."""
    out: list[CliPair] = []
    i = 0
    while i < len(args):
        arg = args[i]
        flag, eq, inline = arg.partition("=")
        if flag in _ENV_FLAGS:
            value = inline if eq else (args[i + 1] if i + 1 < len(args) else "")
            out.extend(_split_pairs(value, flag, many=True))
            i += 1 if eq else 2
            continue
        if flag in _SHORT_ENV and (eq and flag.startswith("--")):
            out.extend(_split_pairs(inline, flag, many=flag in ("--set", "--set-string")))
            i += 1
            continue
        if arg in _SHORT_ENV and i + 1 < len(args):
            out.extend(_split_pairs(args[i + 1], arg, many=arg in ("--set", "--set-string")))
            i += 2
            continue
        i += 1
    return out


def workers_from_args(text: str) -> int | None:
    """A worker count in a command line (``gunicorn -w 4``, ``uvicorn --workers 2``)."""
    m = _WORKERS.search(text)
    if not m:
        return None
    return int(m.group(1) or m.group(2))


def deploy_target(args: Sequence[str]) -> str | None:
    """The service a deploy command targets: ``gcloud run deploy NAME``, ``docker run --name N``,
    ``fly deploy -a NAME``, ``kubectl create secret generic NAME``, ``heroku ... -a NAME``."""
    for i, arg in enumerate(args):
        if arg in ("--name", "-a", "--app") and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--name=") or arg.startswith("--app="):
            return arg.split("=", 1)[1]
        if arg == "deploy" and i + 1 < len(args) and i >= 1 and args[i - 1] in ("run", "functions"):
            nxt = args[i + 1]
            if not nxt.startswith("-"):
                return nxt
        if arg == "generic" and i >= 1 and args[i - 1] == "secret" and i + 1 < len(args):
            return args[i + 1]
    return None


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines joined at trailing backslashes, each with its first line number."""
    out: list[tuple[int, str]] = []
    buf: list[str] = []
    start = 1
    for number, line in enumerate(text.splitlines(), 1):
        if not buf:
            start = number
        if line.endswith("\\"):
            buf.append(line[:-1])
            continue
        buf.append(line)
        out.append((start, " ".join(buf)))
        buf = []
    if buf:
        out.append((start, " ".join(buf)))
    return out


def workers_from_settings(settings: Mapping[str, str]) -> int | None:
    """Worker processes set through a variable (``WEB_CONCURRENCY=4``), first of
    :data:`WORKER_VARIABLES` that holds a number."""
    for var in WORKER_VARIABLES:
        value = settings.get(var, "").strip()
        if value.isdigit():
            return int(value)
    return None
