"""Runtime resolution: which secret this process uses, by the spec's priority order.

Order of precedence (documented in README "Resolution order"): for each variable ``NAME`` in
``spec.variables_for(environment)``, highest priority first:

1. the process environment ``NAME``;
2. the file named by ``NAME_FILE`` in the process environment (Docker/Kubernetes secrets);
3. ``NAME`` in the ``.env`` file (``dotenv_path``), as python-dotenv reads it;
4. the file named by ``NAME_FILE`` in the ``.env`` file.

This is what an app that calls ``load_dotenv()`` (which never overrides the process environment)
and then reads variables in priority order gets. A single trailing newline (``\\n`` or ``\\r\\n``)
in a secret file is dropped: editors and ``echo`` add one. Other readers may not drop it;
``keydrift check`` flags that divergence (KD501).

Only when no variable is set and ``generate_into`` is given is a secret created, once, atomically,
so that every process starting at the same moment ends with the same one.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets as _secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from keydrift.errors import (
    MissingSecretError,
    SecretConflictError,
    SecretEncodingError,
    SecretFileError,
    UsageError,
    WeakSecretError,
)
from keydrift.secret import Provenance, ProvenanceKind, ResolvedSecret, SecretValue
from keydrift.spec import DEFAULT_JWT_SPEC, SecretSpec
from keydrift.strength import StrengthReport, check_strength, display_fingerprint

__all__ = [
    "StrengthPolicy",
    "drop_one_newline",
    "read_secret_file",
    "resolve",
    "resolve_environment",
    "strength_policy",
]

log = logging.getLogger("keydrift")

MAX_SECRET_FILE_BYTES = 64 * 1024
MAX_DOTENV_BYTES = 10 * 1024 * 1024
GENERATED_BYTES = 64


def resolve_environment(
    spec: SecretSpec | None = None,
    *,
    env: Mapping[str, str] | None = None,
    dotenv_path: str | os.PathLike[str] | None = None,
) -> str | None:
    """The environment name from ``spec.environment_variable`` (process env, then ``.env``)."""
    spec = spec or DEFAULT_JWT_SPEC
    env = os.environ if env is None else env
    value = env.get(spec.environment_variable)
    if not value and dotenv_path is not None:
        value = _load_dotenv(dotenv_path).get(spec.environment_variable, (None, 0))[0]
    if value:
        return SecretSpec.validate_environment(value.strip())
    return None


def resolve(
    spec: SecretSpec | None = None,
    environment: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    dotenv_path: str | os.PathLike[str] | None = None,
    generate_into: str | os.PathLike[str] | None = None,
    enforce_strength: bool = True,
) -> ResolvedSecret:
    """Resolve ``spec``'s secret for ``environment`` (default: read from ``ENVIRONMENT``).

    Raises :class:`MissingSecretError` listing every place looked, :class:`SecretConflictError`
    when ``NAME`` and ``NAME_FILE`` disagree, :class:`SecretFileError` for unusable files, and
    :class:`WeakSecretError` for weak secrets in production-like environments (elsewhere weak
    secrets resolve with ``warnings`` set and a log warning naming the fingerprint only).
    """
    spec = spec or DEFAULT_JWT_SPEC
    env = os.environ if env is None else env
    if environment is None:
        environment = resolve_environment(spec, env=env, dotenv_path=dotenv_path)
    else:
        SecretSpec.validate_environment(environment)
    dotenv = _load_dotenv(dotenv_path) if dotenv_path is not None else {}
    dotenv_label = str(dotenv_path) if dotenv_path is not None else None

    looked: list[str] = []
    names = spec.variables_for(environment)
    for name in names:
        found = _lookup(name, env, dotenv, dotenv_label, spec.file_suffix, looked)
        if found is not None:
            value, provenance = found
            return _accept(spec, environment, name, value, provenance, enforce_strength)

    if generate_into is not None:
        value, provenance = _generate_once(Path(generate_into))
        return _accept(spec, environment, None, value, provenance, enforce_strength)

    env_note = (
        f"environment {environment!r}"
        if environment
        else f"no environment ({spec.environment_variable} unset, so {{ENV}} variables skipped)"
    )
    first = names[0] if names else spec.variables[0]
    raise MissingSecretError(
        f"no {spec.name} secret found for {env_note}; looked in order: " + "; ".join(looked),
        looked=looked,
        advice=(
            f"set {first} (or {first}{spec.file_suffix} to a mounted file) to the secret that every "
            f"replica of this environment shares; create one with `keydrift generate`. keydrift "
            "never generates a per-process key: replicas would disagree"
        ),
    )


def _lookup(
    name: str,
    env: Mapping[str, str],
    dotenv: dict[str, tuple[str, int]],
    dotenv_label: str | None,
    suffix: str,
    looked: list[str],
) -> tuple[SecretValue, Provenance] | None:
    file_name = f"{name}{suffix}"
    direct = env.get(name)
    via_file = env.get(file_name)
    looked.append(f"env {name}")
    looked.append(f"env {file_name}")
    result = _pick(
        name,
        direct,
        Provenance(ProvenanceKind.ENV, variable=name),
        via_file,
        base_dir=None,
    )
    if result is not None:
        return result
    if dotenv_label is None:
        return None
    looked.append(f"{dotenv_label} {name}")
    looked.append(f"{dotenv_label} {file_name}")
    d_direct = dotenv.get(name)
    d_file = dotenv.get(file_name)
    return _pick(
        name,
        d_direct[0] if d_direct else None,
        Provenance(ProvenanceKind.DOTENV, variable=name, path=dotenv_label,
                   line=d_direct[1] if d_direct else None),
        d_file[0] if d_file else None,
        base_dir=Path(dotenv_label).parent,
    )


def _pick(
    name: str,
    direct: str | None,
    direct_prov: Provenance,
    file_path: str | None,
    base_dir: Path | None,
) -> tuple[SecretValue, Provenance] | None:
    # An empty variable counts as unset: `JWT_SECRET=` in an env file is how people "unset".
    direct_value = _text_secret(direct, direct_prov) if direct else None
    file_value: SecretValue | None = None
    prov_f: Provenance | None = None
    if file_path:
        path = Path(file_path)
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        file_value = read_secret_file(path)
        prov_f = Provenance(ProvenanceKind.FILE, variable=name, path=str(path))
    if direct_value is not None and file_value is not None:
        if direct_value != file_value:
            raise SecretConflictError(
                f"{name} and {name}_FILE are both set and differ "
                f"({display_fingerprint(direct_value)} vs {display_fingerprint(file_value)})",
                advice=f"set only one of {name} and {name}_FILE",
            )
        return direct_value, direct_prov
    if direct_value is not None:
        return direct_value, direct_prov
    if file_value is not None and prov_f is not None:
        return file_value, prov_f
    return None


def _text_secret(text: str, provenance: Provenance) -> SecretValue:
    """``SecretValue(text)``, with the place named when the text is not valid UTF-8."""
    try:
        return SecretValue(text)
    except SecretEncodingError as exc:
        message, advice = exc.message, exc.advice
    # Raised outside the handler: the new error keeps no link to the first one.
    raise SecretEncodingError(message, where=str(provenance), advice=advice)


def drop_one_newline(data: bytes) -> bytes:
    """The documented rule for secret files: one trailing ``\\r\\n`` or ``\\n`` is dropped.

    ``keydrift check`` applies the same function to predict what a ``NAME_FILE`` reader sees.
    """
    if data.endswith(b"\r\n"):
        return data[:-2]
    if data.endswith(b"\n"):
        return data[:-1]
    return data


class _MissingSecretFile(SecretFileError):
    """The file is absent (as opposed to present but unusable)."""


class _UnsafeSecretFile(SecretFileError):
    """A generated-secret path holds something keydrift did not create: never adopted."""


_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def read_secret_file(path: Path) -> SecretValue:
    """Read a secret file: at most 64 KiB, one trailing newline dropped, never empty.

    Opened non-blocking and checked to be a regular file before any read, so a FIFO or a
    device at a ``*_FILE`` path is refused at once instead of hanging start-up.
    """
    return SecretValue(_read_secret_bytes(path, private=False))


def _read_secret_bytes(path: Path, *, private: bool) -> bytes:
    """The file's bytes after the checks; ``private`` adds the generated-file rules
    (no symlink, owned by this process's user, no group or other permission bits)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | _O_CLOEXEC | (os.O_NOFOLLOW if private else 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise _MissingSecretFile(
            "secret file does not exist", where=str(path),
            advice="mount the secret there or fix the *_FILE variable",
        ) from None
    except PermissionError:
        raise SecretFileError(
            "secret file is not readable by this process", where=str(path),
            advice="check the file's owner and mode (0600 for the owner that runs the service)",
        ) from None
    except OSError as exc:
        if private and exc.errno == errno.ELOOP:
            raise _UnsafeSecretFile(
                "is a symbolic link; a generated secret file must be a plain file keydrift "
                "created", where=str(path),
                advice="remove the link; keydrift then creates the file itself (mode 0600)",
            ) from None
        raise SecretFileError(f"cannot read secret file ({exc.strerror})", where=str(path)) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise SecretFileError("is a directory, not a secret file", where=str(path))
        if not stat.S_ISREG(info.st_mode):
            raise SecretFileError(
                "not a regular file (a FIFO, socket or device), not read", where=str(path),
                advice="point the *_FILE variable at the mounted secret file itself",
            )
        if private:
            _check_private(path, info)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as fh:
        try:
            data = fh.read(MAX_SECRET_FILE_BYTES + 1)
        except OSError as exc:
            raise SecretFileError(
                f"cannot read secret file ({exc.strerror})", where=str(path)
            ) from None
    if len(data) > MAX_SECRET_FILE_BYTES:
        raise SecretFileError("secret file is larger than 64 KiB", where=str(path))
    data = drop_one_newline(data)
    if not data.strip():
        raise SecretFileError(
            "secret file is empty", where=str(path),
            advice="write the shared secret into it (`keydrift generate > FILE`)",
        )
    return data


def _check_private(path: Path, info: os.stat_result) -> None:
    """A secret this process generated is owned by its user and readable by nobody else.

    Anything else at the path was planted or loosened by someone: adopting it would let whoever
    wrote (or can read) it sign tokens every replica accepts.
    """
    euid = os.geteuid()
    if info.st_uid != euid:
        raise _UnsafeSecretFile(
            f"is owned by uid {info.st_uid}, not by this process's user (uid {euid}); "
            "refusing a generated secret another user could have written",
            where=str(path),
            advice="delete it (keydrift then generates a new one), or generate it as the user "
            "that runs the service",
        )
    loose = stat.S_IMODE(info.st_mode) & 0o077
    if loose:
        raise _UnsafeSecretFile(
            f"has mode {stat.S_IMODE(info.st_mode):04o}; a generated secret must not be readable "
            "or writable by group or others",
            where=str(path),
            advice=f"`chmod 600 {path}` if you made it yourself, otherwise delete it and rotate",
        )


@dataclass(frozen=True)
class StrengthPolicy:
    """What the strength policy says about one value for one spec in one environment.

    ``refused``: :func:`resolve` raises :class:`WeakSecretError` for it (production-like
    environments); otherwise the problems in ``report`` are only warnings.
    """

    report: StrengthReport
    refused: bool


def strength_policy(
    spec: SecretSpec, environment: str | None, value: SecretValue | bytes | str
) -> StrengthPolicy | None:
    """The strength policy :func:`resolve` applies to ``value`` in ``environment``.

    ``None`` for specs the policy does not cover (asymmetric algorithms). This is the one place
    that decides; ``keydrift explain`` calls it for each candidate so that a token signed with
    a value ``resolve`` would refuse is never reported as verified.
    """
    if not spec.is_hmac:
        return None
    report = check_strength(value, spec.algorithm, min_bytes=spec.min_bytes)
    return StrengthPolicy(report, refused=not report.ok and spec.is_production_like(environment))


def _accept(
    spec: SecretSpec,
    environment: str | None,
    variable: str | None,
    value: SecretValue,
    provenance: Provenance,
    enforce_strength: bool,
) -> ResolvedSecret:
    warnings: tuple[str, ...] = ()
    policy = strength_policy(spec, environment, value)
    if policy is not None:
        report = policy.report
        if not report.ok:
            where = str(provenance)
            if policy.refused and enforce_strength:
                raise WeakSecretError(
                    f"refusing the {spec.name} secret from {where} ({display_fingerprint(value)}) "
                    f"in production-like environment {environment!r}: {report.summary()}",
                    problems=report.codes,
                    advice="replace it with `keydrift generate` and share it across every "
                    "service of this environment",
                )
            warnings = tuple(p.message for p in report.problems)
            log.warning(
                "weak %s secret from %s (%s) in environment %r: %s",
                spec.name, where, display_fingerprint(value), environment, report.summary(),
            )
    return ResolvedSecret(
        value=value,
        provenance=provenance,
        spec_name=spec.name,
        environment=environment,
        variable=variable,
        warnings=warnings,
    )


def _load_dotenv(path: str | os.PathLike[str]) -> dict[str, tuple[str, int]]:
    """Parse a ``.env`` file with python-dotenv's own parser, keeping line numbers."""
    from dotenv.main import DotEnv
    from dotenv.parser import parse_stream

    p = Path(path)
    problem = ""
    try:
        # Non-blocking and regular files only: a FIFO named as the .env file must not hang.
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | _O_CLOEXEC)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise SecretFileError("the .env file is not a regular file, not read", where=str(p))
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(MAX_DOTENV_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(f"{p}: .env file does not exist") from None
    except OSError as exc:
        raise SecretFileError(f"cannot read .env file ({exc.strerror})", where=str(p)) from None
    if len(data) > MAX_DOTENV_BYTES:
        problem = "larger than 10 MB"
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            problem = f"invalid UTF-8 at byte {exc.start}"
    if problem:
        # Raised outside the handler: a UnicodeDecodeError's .object is the whole file.
        raise SecretFileError(f"cannot read .env file ({problem})", where=str(p))
    import io

    out: dict[str, tuple[str, int]] = {}
    # parse_stream gives raw bindings with positions; DotEnv resolves `${VAR}` the way
    # load_dotenv does, so use it for the values and the bindings for the line numbers.
    lines = {b.key: binding_line(b.original.string, b.original.line)
             for b in parse_stream(io.StringIO(text)) if b.key}
    values = DotEnv(dotenv_path=None, stream=io.StringIO(text), interpolate=True).dict()
    for key, value in values.items():
        if value is not None:
            out[key] = (value, lines.get(key, 0))
    return out


def binding_line(original: str, start_line: int) -> int:
    """Line of a python-dotenv binding's key: its ``original`` text includes the blank lines
    before it, and ``original.line`` is where that text starts."""
    stripped = original.lstrip()
    return start_line + original[: len(original) - len(stripped)].count("\n")


def _generate_once(path: Path) -> tuple[SecretValue, Provenance]:
    """Create ``path`` with a new secret exactly once, or read the one already there.

    Exclusive create of a private temp file, write, fsync, then ``link`` into place: ``link``
    fails if the target exists, so the first finisher wins and every other process reads the
    winner's complete file. A reader never sees a partial file because the name appears only
    after the content is durable.
    """
    provenance = Provenance(ProvenanceKind.GENERATED, path=str(path))
    for _ in range(50):
        try:
            value = SecretValue(_read_secret_bytes(path, private=True))
        except _MissingSecretFile:
            pass  # nobody has created it yet: race to create it below
        except _UnsafeSecretFile:
            raise
        except SecretFileError as exc:
            raise SecretFileError(
                f"{exc.message}; refusing to replace it", where=str(path),
                advice="inspect the file; delete it only if no running service uses it",
            ) from None
        else:
            report = check_strength(value)
            if not report.ok:
                # We only ever write strong secrets here, so a weak one means the file was
                # truncated or edited: never silently replace it.
                raise SecretFileError(
                    f"generated secret file is corrupt ({report.summary()}); refusing to "
                    "replace it",
                    where=str(path),
                    advice="inspect the file; delete it only if no running service uses it",
                )
            return value, provenance
        secret = _secrets.token_urlsafe(GENERATED_BYTES)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{_secrets.token_hex(4)}.tmp")
        try:
            _private_dirs(path.parent)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _O_CLOEXEC,
                         0o600)
        except OSError as exc:
            raise SecretFileError(
                f"cannot create the secret file's directory or temp file ({exc.strerror})",
                where=str(path), advice="make the directory writable by the service's user",
            ) from None
        try:
            os.write(fd, (secret + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV):
                os.unlink(tmp)
                raise SecretFileError(f"cannot create secret file ({exc.strerror})",
                                      where=str(path)) from None
            # A filesystem without hard links: O_EXCL on the target is still exclusive, but a
            # reader could see it before it is written; retry reading covers that window.
            try:
                fd2 = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd2, "wb") as out:
                    out.write((secret + "\n").encode("ascii"))
                    out.flush()
                    os.fsync(out.fileno())
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        _fsync_dir(path.parent)
    raise SecretFileError("could not create or read the secret file", where=str(path))


def _private_dirs(directory: Path) -> None:
    """Create the missing directories of ``directory`` with mode 0700, one level at a time.

    ``Path.mkdir(parents=True, mode=...)`` applies the mode to the last level only; the others
    would get 0777 minus umask. Directories that already exist are left as they are.
    """
    missing: list[Path] = []
    here = directory
    while not here.exists() and here != here.parent:
        missing.append(here)
        here = here.parent
    for level in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process starting at once
            level.mkdir(mode=0o700)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
