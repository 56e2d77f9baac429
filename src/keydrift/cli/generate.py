"""``keydrift generate``: a new strong secret. The only command that ever prints a secret."""

from __future__ import annotations

import base64
import os
import secrets
import sys

import click

from keydrift.errors import InputError

FORMATS = ("urlsafe", "hex", "base64", "fernet")


def new_secret(nbytes: int, fmt: str) -> str:
    """A fresh secret of ``nbytes`` random bytes in ``fmt`` (``fernet``: always 32 bytes)."""
    if fmt == "fernet":
        # Fernet keys are exactly 32 random bytes, urlsafe base64 with padding.
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")
    raw = secrets.token_bytes(nbytes)
    if fmt == "hex":
        return raw.hex()
    if fmt == "base64":
        return base64.b64encode(raw).decode("ascii")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@click.command("generate")
@click.option("--bytes", "nbytes", type=click.Choice(["32", "48", "64"]), default="64",
              show_default=True, help="Random bytes: 32 for HS256, 48 for HS384, 64 for HS512.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="urlsafe", show_default=True,
              help="Encoding. fernet = urlsafe base64 of 32 bytes (Langflow, Fernet keys).")
@click.option("--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file (created exclusively, mode 0600) instead of stdout.")
def command(nbytes: str, fmt: str, output: str | None) -> int:
    """Print a new strong secret. Share it across every service of one environment."""
    value = new_secret(int(nbytes), fmt)
    if output is None:
        sys.stdout.write(value + "\n")
        return 0
    try:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError("file exists; refusing to overwrite a secret", where=output,
                         advice="choose a new path or remove the old file first") from None
    except OSError as exc:
        raise InputError(f"cannot create file ({exc.strerror})", where=output) from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(value + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    click.echo(f"wrote a new {fmt} secret to {output} (mode 0600)", err=True)
    return 0
