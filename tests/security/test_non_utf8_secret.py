"""Item 11: a secret that is not valid UTF-8 is refused cleanly, and no exception keeps it.

Before: ``keydrift fingerprint`` exited 3 (internal error); the middleware did not refuse to
start (uvicorn took the crash for "lifespan unsupported", served, and answered 500); and the
``UnicodeEncodeError`` held the whole secret in ``.object``. Now :class:`SecretEncodingError`
(exit 1) is raised outside any handler, so neither it nor its context holds the value.
"""

from __future__ import annotations

import os
import traceback

import pytest

from keydrift.errors import KeydriftError, SecretEncodingError
from keydrift.keyring import Keyring
from keydrift.resolve import resolve
from keydrift.secret import SecretValue

from .util import keydrift
from .util_server import start_app

RAW = b"kd-nonutf8-" + os.urandom(8).hex().encode() + b"\xff\xfe-" + b"q" * 40
AS_STR = os.fsdecode(RAW)  # what os.environ holds: lone surrogates (PEP 383)
VISIBLE = RAW[:27].decode()  # the printable head, to search for in outputs


def _everything(exc: BaseException) -> str:
    parts = ["".join(traceback.format_exception(exc)), repr(exc), str(exc), repr(exc.args),
             repr(vars(exc))]
    seen: BaseException | None = exc
    while seen is not None:
        parts.append(repr(getattr(seen, "object", "")))
        seen = seen.__context__ or seen.__cause__
    return "\n".join(parts)


def test_security_non_utf8_secret_error_holds_nothing_of_it() -> None:
    for attempt in (lambda: SecretValue(AS_STR),
                    lambda: resolve(environment="staging", env={"JWT_SECRET": AS_STR}),
                    lambda: Keyring.from_spec(environment="staging", env={"JWT_SECRET": AS_STR}),
                    lambda: Keyring.from_secrets(AS_STR)):
        with pytest.raises(SecretEncodingError) as info:
            attempt()
        exc = info.value
        assert isinstance(exc, KeydriftError) and exc.exit_code == 1
        assert exc.__context__ is None and exc.__cause__ is None
        text = _everything(exc)
        assert VISIBLE not in text and AS_STR not in text
    with pytest.raises(SecretEncodingError) as named:
        resolve(environment="staging", env={"JWT_SECRET_STAGING": AS_STR})
    assert named.value.where == "env JWT_SECRET_STAGING"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_security_fingerprint_command_refuses_non_utf8_secret(fmt: str) -> None:
    proc = keydrift("fingerprint", "--format", fmt,
                    env={b"ENVIRONMENT": b"staging", b"JWT_SECRET": RAW, b"KEYDRIFT_DEBUG": b"1"})
    assert proc.returncode == 1, proc.stderr
    err = proc.stderr.decode(errors="replace")
    assert err.startswith("keydrift: error: env JWT_SECRET: the secret is not valid UTF-8")
    assert "Traceback" not in err
    assert RAW[:27] not in proc.stdout + proc.stderr


def test_security_middleware_refuses_to_start_on_non_utf8_secret() -> None:
    proc = start_app({b"ENVIRONMENT": b"staging", b"JWT_SECRET": RAW})
    assert proc.returncode not in (None, 0), "uvicorn served with an unusable secret"
    err = proc.stderr.decode(errors="replace")
    assert "refusing to start" in err and "not valid UTF-8" in err
    assert "unsupported" not in err  # not mistaken for an app without lifespan support
    assert RAW[:27] not in proc.stdout + proc.stderr
