"""``keydrift.toml`` / ``[tool.keydrift]``: environments, specs, groups, ignores, severities.

Read with :mod:`tomllib`. Every problem raises :class:`~keydrift.errors.ConfigError` naming the
file and the key, with advice; unknown keys are errors too, because a typo in ``ignore`` or
``severity`` would otherwise silently change what ``check`` reports.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from keydrift.errors import ConfigError, KeydriftError
from keydrift.spec import (
    ALGORITHMS,
    DEFAULT_JWT_SPEC,
    DEFAULT_PRODUCTION_LIKE,
    SecretKind,
    SecretSpec,
    normalize_environment,
)

__all__ = ["SEVERITIES", "Config", "load_config", "parse_config"]

SEVERITIES = ("error", "warning", "note", "off")
_RULE_ID = re.compile(r"^KD\d{3}$")
_KNOWN_KEYS = frozenset(
    {
        "environments",
        "production_like",
        "production_like_default",
        "specs",
        "groups",
        "file_environments",
        "ignore",
        "severity",
    }
)


@dataclass(frozen=True)
class Config:
    """Parsed configuration; :meth:`Config.default` when there is no file."""

    environments: tuple[str, ...] = ()
    production_like: frozenset[str] = DEFAULT_PRODUCTION_LIKE
    production_like_default: bool = False
    """Judge services whose environment cannot be inferred as production-like."""
    specs: tuple[SecretSpec, ...] = (DEFAULT_JWT_SPEC,)
    groups: dict[str, list[str]] = field(default_factory=dict)
    file_environments: dict[str, str] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()
    severity: dict[str, str] = field(default_factory=dict)
    path: str | None = None  # the file the config came from, None for defaults

    @classmethod
    def default(cls) -> Config:
        return cls()

    def groups_of(self, service: str) -> tuple[str, ...]:
        """Names of the configured groups that list ``service``."""
        return tuple(sorted(g for g, members in self.groups.items() if service in members))


def load_config(root: str, explicit_path: str | None = None) -> Config:
    """Load ``explicit_path``, else ``root/keydrift.toml``, else ``[tool.keydrift]`` in
    ``root/pyproject.toml``, else defaults."""
    if explicit_path is not None:
        if not os.path.isfile(explicit_path):
            raise ConfigError(
                f"config file {explicit_path} does not exist",
                advice="pass an existing keydrift.toml or pyproject.toml to --config",
            )
        return _load_file(explicit_path, required=True)
    base = root if os.path.isdir(root) else os.path.dirname(root) or "."
    candidate = os.path.join(base, "keydrift.toml")
    if os.path.lexists(candidate):
        return _load_file(candidate, required=True, in_tree=True)
    candidate = os.path.join(base, "pyproject.toml")
    if os.path.lexists(candidate):
        return _load_file(candidate, required=False, in_tree=True)
    return Config.default()


_MAX_CONFIG_BYTES = 4 * 1024 * 1024


def _read_regular(path: str, *, follow: bool) -> bytes:
    """A configuration file's bytes: a regular file only (opened non-blocking, so a FIFO never
    hangs), and, for a file found in the checked tree, never through a symbolic link (the tree
    is untrusted: a link could point anywhere on the machine)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if not follow:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ConfigError(
                "the configuration file is a symbolic link, not followed", where=path,
                advice="make it a regular file, or name the file with --config",
            ) from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigError("the configuration is not a regular file, not read", where=path,
                              advice="make it a regular file, or name the file with --config")
        data = os.read(fd, _MAX_CONFIG_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > _MAX_CONFIG_BYTES:
        raise ConfigError("the configuration file is larger than 4 MiB", where=path)
    return data


def _load_file(path: str, *, required: bool, in_tree: bool = False) -> Config:
    try:
        data = tomllib.loads(_read_regular(path, follow=not in_tree).decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", where=path, advice="fix the TOML syntax") from None
    except UnicodeDecodeError:
        raise ConfigError("the configuration is not UTF-8", where=path,
                          advice="save it as UTF-8 TOML") from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read config: {exc.strerror}", where=path, advice="check the file permissions"
        ) from None
    if os.path.basename(path) == "pyproject.toml":
        section = data.get("tool", {}).get("keydrift")
        if section is None:
            if required:
                raise ConfigError(
                    "no [tool.keydrift] table", where=path, advice="add a [tool.keydrift] table"
                )
            return Config.default()
        prefix = "tool.keydrift."
    else:
        section = data
        prefix = ""
    return parse_config(section, where=path, prefix=prefix)


def parse_config(data: Mapping[str, Any], *, where: str = "<config>", prefix: str = "") -> Config:
    """Validate a config table (already parsed TOML) into a :class:`Config`."""
    if not isinstance(data, Mapping):
        raise ConfigError("the keydrift table must be a table", where=where)

    def fail(key: str, message: str, advice: str) -> ConfigError:
        return ConfigError(f"{prefix}{key}: {message}", where=where, advice=advice)

    for key in data:
        if key not in _KNOWN_KEYS:
            raise fail(key, "unknown key", f"known keys: {', '.join(sorted(_KNOWN_KEYS))}")

    def str_list(key: str, value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(key, "must be a list of strings", f'e.g. {key} = ["staging", "production"]')
        return list(value)

    environments = tuple(
        normalize_environment(e) for e in str_list("environments", data.get("environments", []))
    )
    if "production_like" in data:
        production_like = frozenset(
            normalize_environment(e) for e in str_list("production_like", data["production_like"])
        )
    else:
        production_like = DEFAULT_PRODUCTION_LIKE
    ignore = tuple(str_list("ignore", data.get("ignore", [])))
    production_like_default = data.get("production_like_default", False)
    if not isinstance(production_like_default, bool):
        raise fail("production_like_default", "must be true or false",
                   "e.g. production_like_default = true")

    groups: dict[str, list[str]] = {}
    raw_groups = data.get("groups", {})
    if not isinstance(raw_groups, Mapping):
        raise fail("groups", "must be a table", 'e.g. [tool.keydrift.groups] auth = ["api", "auth"]')
    for name, members in raw_groups.items():
        groups[name] = str_list(f"groups.{name}", members)

    file_environments: dict[str, str] = {}
    raw_fe = data.get("file_environments", {})
    if not isinstance(raw_fe, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw_fe.items()
    ):
        raise fail(
            "file_environments",
            "must be a table of glob = environment",
            'e.g. [tool.keydrift.file_environments] "deploy/stg-*.sh" = "staging"',
        )
    for glob, env in raw_fe.items():
        file_environments[glob] = normalize_environment(env)

    severity: dict[str, str] = {}
    raw_sev = data.get("severity", {})
    if not isinstance(raw_sev, Mapping):
        raise fail("severity", "must be a table", 'e.g. [tool.keydrift.severity] KD303 = "off"')
    for rule, level in raw_sev.items():
        if not _RULE_ID.match(str(rule)):
            raise fail(f"severity.{rule}", "not a rule id", "rule ids look like KD101")
        if level not in SEVERITIES:
            raise fail(f"severity.{rule}", f"unknown severity {level!r}", f"use one of {SEVERITIES}")
        severity[str(rule)] = str(level)

    specs = _parse_specs(data.get("specs"), production_like, fail)
    return Config(
        environments=environments,
        production_like=production_like,
        production_like_default=production_like_default,
        specs=specs,
        groups=groups,
        file_environments=file_environments,
        ignore=ignore,
        severity=severity,
        path=where,
    )


_SPEC_KEYS = frozenset(
    {"name", "variables", "algorithm", "previous_variables", "min_bytes", "environment_variable",
     "kind", "file_suffix"}
)


def _parse_specs(raw: Any, production_like: frozenset[str], fail: Any) -> tuple[SecretSpec, ...]:
    if raw is None:
        if production_like == DEFAULT_PRODUCTION_LIKE:
            return (DEFAULT_JWT_SPEC,)
        return (SecretSpec(production_like=production_like),)
    items: list[tuple[str, Any]]
    if isinstance(raw, Mapping):  # [specs.jwt] tables
        items = [(str(name), body) for name, body in raw.items()]
    elif isinstance(raw, list):  # [[specs]] with name =
        items = [(str(body.get("name", "")) if isinstance(body, Mapping) else "", body) for body in raw]
    else:
        raise fail("specs", "must be a table of specs", "[tool.keydrift.specs.jwt] variables = [...]")
    specs: list[SecretSpec] = []
    for name, body in items:
        key = f"specs.{name or '?'}"
        if not name:
            raise fail(key, "a spec needs a name", 'add name = "jwt"')
        if not isinstance(body, Mapping):
            raise fail(key, "must be a table", "variables = [...] and algorithm = ...")
        for k in body:
            if k not in _SPEC_KEYS:
                raise fail(f"{key}.{k}", "unknown key", f"known keys: {', '.join(sorted(_SPEC_KEYS))}")
        kwargs: dict[str, Any] = {"name": name, "production_like": production_like}
        for list_key in ("variables", "previous_variables"):
            if list_key in body:
                value = body[list_key]
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise fail(
                        f"{key}.{list_key}", "must be a list of strings", '["JWT_SECRET_{ENV}", "JWT_SECRET"]'
                    )
                kwargs[list_key] = tuple(value)
        if "algorithm" in body:
            if body["algorithm"] not in ALGORITHMS:
                raise fail(
                    f"{key}.algorithm",
                    f"unknown algorithm {body['algorithm']!r}",
                    f"use one of {', '.join(ALGORITHMS)}",
                )
            kwargs["algorithm"] = body["algorithm"]
        if "min_bytes" in body:
            if not isinstance(body["min_bytes"], int) or body["min_bytes"] < 0:
                raise fail(f"{key}.min_bytes", "must be a non-negative integer", "e.g. min_bytes = 32")
            kwargs["min_bytes"] = body["min_bytes"]
        if "environment_variable" in body:
            kwargs["environment_variable"] = str(body["environment_variable"])
        if "file_suffix" in body:
            if not isinstance(body["file_suffix"], str) or not body["file_suffix"]:
                raise fail(f"{key}.file_suffix", "must be a non-empty string", 'e.g. "_FILE"')
            kwargs["file_suffix"] = body["file_suffix"]
        if "kind" in body:
            kinds = [k.value for k in SecretKind]
            if body["kind"] not in kinds:
                raise fail(f"{key}.kind", f"unknown kind {body['kind']!r}", f"use one of {', '.join(kinds)}")
            kwargs["kind"] = SecretKind(body["kind"])
        try:
            specs.append(SecretSpec(**kwargs))
        except KeydriftError as exc:
            raise fail(key, exc.message, exc.advice or "fix the spec") from None
    return tuple(specs)
