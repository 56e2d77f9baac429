"""Compose files: services, their container environment, replicas, workers and secrets.

A project is what ``docker compose`` would load: ``compose.yaml`` plus ``compose.override.yaml``
(the only file compose merges implicitly). Any other compose file in the folder
(``docker-compose.prod.yml``, ``deploy-compose.yml``) is an alternative project of its own,
unless a script, Makefile or README of the repository passes it together with others
(``-f a.yml -f b.yml``): then that stack is a project too. ``include:`` and ``extends:`` are
followed. Values are interpolated as compose does, from the project's ``.env`` (or, when only a
template such as ``.env.example`` exists, from the documented copy of it); ``environment`` wins
over ``env_file`` (later env files over earlier ones), as in compose.

Each project is a deployment unit. Every value remembers its origins (an interpolated
variable, a YAML anchor or an env-file line), so services fed from one origin are known to share
it whatever their variable names.
"""

from __future__ import annotations

import posixpath
import re
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from keydrift.model.types import (
    Assignment,
    Location,
    Mount,
    Origin,
    OriginKind,
    ReaderView,
    Service,
    Step,
    Unit,
    UnitKind,
)
from keydrift.secret import SecretValue
from keydrift.sources._support.cliargs import workers_from_args, workers_from_settings
from keydrift.sources._support.envinfer import environment_from_name, environment_from_settings
from keydrift.sources._support.interpolation import Interpolated, interpolate
from keydrift.sources._support.mounted import mounted_file_assignment
from keydrift.sources._support.yamlnodes import LMap, LSeq, iter_yaml, line_of, load_empty, scalar_text
from keydrift.sources.dotenv import DotenvEntry, dotenv_file
from keydrift.sources.interface import (
    OUTSIDE_REASON,
    ReadContext,
    Source,
    SourceResult,
    UnreadableFile,
)

__all__ = ["ComposeSource", "is_compose_name"]

_COMPOSE_NAME = re.compile(
    r"^(docker-)?compose([._-][A-Za-z0-9_.-]+)?\.ya?ml$|^[A-Za-z0-9_.-]+[._-](docker-)?compose\.ya?ml$"
)
_BASES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
_MAX_DEPTH = 8  # include/extends nesting; deeper is a loop or a mistake
# Secret-like variables that env files give the services of one project, summed over services.
# Real projects have a few thousand (35 services x 50); a hostile tree (one 0.8 MB env file
# named by 200 services) would otherwise cost minutes and gigabytes.
MAX_ENV_FILE_PAIRS = 50_000
# The documented copies: `cp .env.example .env` (first match wins).
_TEMPLATE_SUFFIXES = (".example", ".sample", ".template", ".dist", ".tpl", ".defaults")
# A whole value that is one reference: `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `$NAME`.
_WHOLE_REF = re.compile(
    r"\s*(?:\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*))\s*"
)


def is_compose_name(name: str) -> bool:
    return bool(_COMPOSE_NAME.match(name))


@dataclass(slots=True)
class _EnvEntry:
    variable: str
    text: str | None  # as written (None: a bare entry, resolved from the shell and .env)
    location: Location
    origins: tuple[Origin, ...] = ()


@dataclass(slots=True)
class _Decl:
    """One service as declared by one file (before merging)."""

    name: str
    location: Location
    base_dir: str
    image: str | None = None
    replicas: int | None = None
    workers: int | None = None
    command: str | None = None
    env: dict[str, _EnvEntry] = field(default_factory=dict)
    # Tuples, not lists: most services have none, and an empty tuple is shared (60,000 services
    # held 180,000 empty lists).
    env_files: tuple[tuple[str, bool, Location], ...] = ()
    secrets: tuple[tuple[str, str, Location], ...] = ()  # source, target
    volumes: tuple[Mount, ...] = ()
    extends: tuple[str | None, str, Location] | None = None
    build_context: str | None = None
    dockerfile: str | None = None


@dataclass(slots=True)
class _Project:
    services: dict[str, _Decl] = field(default_factory=dict)
    secrets: dict[str, tuple[str, str, Location]] = field(default_factory=dict)  # kind, ref, loc
    files: list[str] = field(default_factory=list)


class _Interp:
    """Project ``.env`` lookups with locations, so chains can say where a value came from.

    ``template`` is set when the values come from a template (``.env.example``) standing in for
    the absent ``.env`` that the docs tell users to copy from it.
    """

    def __init__(self, entries: list[DotenvEntry], path: str | None, template: bool = False) -> None:
        self.values = {e.key: e.compose for e in entries if e.compose is not None}
        self.lines = {e.key: e.line for e in entries}
        self.path = path
        self.template = template

    def origin(self, name: str, fallback: Location) -> Origin:
        where = Location(self.path, self.lines.get(name)) if self.path and name in self.lines else fallback
        return Origin(OriginKind.INTERPOLATION, name, where)

    def run(self, text: str) -> Interpolated:
        return interpolate(text, self.values.get)

    def steps(self, names: list[str]) -> tuple[Step, ...]:
        out = []
        for name in dict.fromkeys(names):
            if name in self.values and self.path:
                out.append(
                    Step(
                        Location(self.path, self.lines.get(name)),
                        f"interpolated ${{{name}}} from {self.path}",
                    )
                )
        return tuple(out)


class ComposeSource(Source):
    """``compose.y*ml``, ``docker-compose*.y*ml``, overrides and variants."""

    kind = "compose"
    priority = 20
    stdin_ok = True

    def matches(self, path: str) -> bool:
        return is_compose_name(path.rsplit("/", 1)[-1])

    def sniff(self, text: str) -> bool:
        return bool(re.search(r"^services:\s*$", text, re.MULTILINE))

    def read(self, path: str, text: str, ctx: ReadContext) -> SourceResult:
        directory, name = posixpath.split(path)
        base = next((b for b in _BASES if _join(directory, b) in ctx.files), None)
        environment = ctx.environment
        projects: list[list[str]] = []
        stacks = ctx.compose_stacks(path) if path != "-" else ()
        if path == "-" or ctx.template:
            projects.append([path])  # an example file is read alone: it documents, not deploys
        elif ".override." in name and base is not None:
            return SourceResult()  # compose merges it into its base file implicitly
        else:
            # Only the override merges implicitly; any other compose file is an alternative
            # project of its own, unless the repository always passes it with others (-f).
            if name == base or not any(path in s for s in stacks):
                alone = [path]
                if name == base:
                    override = next(
                        (o for o in (_join(directory, b.replace(".y", ".override.y")) for b in _BASES)
                         if o in ctx.files),
                        None,
                    )
                    if override:
                        alone.append(override)
                projects.append(alone)
            projects.extend(list(s) for s in stacks if s[0] == path)
        out = SourceResult()
        for files in projects:
            env = environment
            if path != "-" and not ctx.template and files[0] == path and name != base:
                env = environment_from_name(name, ctx.config.environments) or env
            for other in files[1:]:
                env = environment_from_name(posixpath.basename(other), ctx.config.environments) or env
            part = _Reader(ctx, {path: text}, env, self.kind).project(files)
            _extend_result(out, part)
        return out


def _join(directory: str, name: str) -> str:
    return posixpath.normpath(posixpath.join(directory, name))


def _extend_result(out: SourceResult, part: SourceResult) -> None:
    out.assignments.extend(part.assignments)
    out.services.extend(part.services)
    out.skipped.extend(s for s in part.skipped if s not in out.skipped)
    out.files.extend(f for f in part.files if f not in out.files)
    out.included.extend(f for f in part.included if f not in out.included)
    out.units.extend(part.units)


def _template_for(path: str, files: frozenset[str]) -> str | None:
    """The template users are told to copy to ``path`` (``.env.example`` for ``.env``)."""
    for suffix in _TEMPLATE_SUFFIXES:
        if path + suffix in files:
            return path + suffix
    return None


def _unit_id(files: list[str]) -> str:
    return "compose:" + " + ".join(files)


def _outside(rel: str) -> bool:
    """A reference that leaves the checked tree by its path alone (symlinks are the
    :class:`~keydrift.sources.discovery.FileReader`'s to catch)."""
    return rel != "-" and (rel.startswith("/") or rel == ".." or rel.startswith("../"))


class _Reader:
    def __init__(self, ctx: ReadContext, texts: dict[str, str], environment: str | None, kind: str) -> None:
        self.ctx = ctx
        self.texts = texts
        self.environment = environment
        self.kind = kind
        self.result = SourceResult()
        self.docs: dict[str, LMap] = {}
        self.pairs_left = MAX_ENV_FILE_PAIRS

    # -- loading ------------------------------------------------------------------------------

    def _text(self, path: str) -> str:
        if path in self.texts:
            return self.texts[path]
        text = self.ctx.read_text(path)
        self.texts[path] = text
        if path not in self.result.files:
            self.result.files.append(path)
        return text

    def _skip_ref(self, where: Location, what: str, exc: UnreadableFile) -> None:
        """A referenced file not read: skipped with the reason, once per reference."""
        from keydrift.model.types import Skipped

        skipped = Skipped(where, f"{what}: {exc.reason}")
        if skipped not in self.result.skipped:
            self.result.skipped.append(skipped)

    def _doc(self, path: str) -> LMap:
        if path not in self.docs:
            try:
                doc = next(iter_yaml(self._text(path)), None)
            except UnreadableFile as exc:
                if path == self.ctx.path:
                    raise
                # the problem is in a file this project pulls in: say which
                where = f"{path}:{exc.line}" if exc.line else path
                raise UnreadableFile(f"{where}: {exc.reason}") from None
            if doc is None:
                doc = load_empty()
            if not isinstance(doc, LMap):
                raise UnreadableFile("not a compose file: the top level is not a mapping")
            self.docs[path] = doc
        return self.docs[path]

    def project(self, files: list[str]) -> SourceResult:
        first = files[0]
        directory = posixpath.dirname(first) if first != "-" else ""
        env_path = _join(directory, ".env")
        entries: list[DotenvEntry] = []
        template = False
        if first != "-" and env_path not in self.ctx.files:
            # No .env: the docs' `cp .env.example .env` gives every deployment the template's
            # values, so those are what the project runs with.
            copy = _template_for(env_path, self.ctx.files)
            if copy is not None:
                env_path, template = copy, True
        if first != "-" and env_path in self.ctx.files:
            try:
                entries = dotenv_file(self.ctx, env_path, self._text(env_path)).for_compose(env_file=False)
            except UnreadableFile as exc:
                entries = []  # Compose refuses this .env (and the project): say so
                self.result.skipped.append(_skip(env_path, exc))
        self.interp = _Interp(entries, env_path if entries else None, template)
        self.unit = Unit(_unit_id(files), UnitKind.COMPOSE, Location(first, 1))
        self.result.units.append(self.unit)
        project = _Project()
        for path in files:
            self._merge_file(project, path, depth=0)
        # The declarations hold what the services need; the parsed documents can go before the
        # services are built (a 60,000-service file otherwise held both at once).
        self.docs.clear()
        self._build(project)
        return self.result

    def _merge_file(self, project: _Project, path: str, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise UnreadableFile("compose include/extends nested too deeply (a loop?)")
        doc = self._doc(path)
        directory = posixpath.dirname(path) if path != "-" else ""
        includes = doc.get("include")
        if isinstance(includes, LSeq):
            for item in includes:
                targets: list[str] = []
                if isinstance(item, str):
                    targets = [item]
                elif isinstance(item, LMap):
                    p = item.get("path")
                    targets = [p] if isinstance(p, str) else [x for x in p or [] if isinstance(x, str)]
                for target in targets:
                    inc = _join(directory, self.interp.run(target).text)
                    if _outside(inc):
                        self._skip_ref(Location(path, line_of(doc, "include")),
                                       f"include {inc}", UnreadableFile(OUTSIDE_REASON))
                        continue
                    if inc not in self.ctx.files:
                        continue
                    sub = _Project()
                    self._merge_file(sub, inc, depth + 1)
                    self.result.included.append(inc)
                    for sname, decl in sub.services.items():
                        project.services.setdefault(sname, decl)
                    for key, val in sub.secrets.items():
                        project.secrets.setdefault(key, val)
        services = doc.get("services")
        if isinstance(services, LMap):
            for sname, body in services.items():
                if not isinstance(body, LMap):
                    continue
                decl = self._decl(str(sname), body, path, directory, services)
                if decl.extends is not None:
                    decl = self._extend(decl, depth)
                prev = project.services.get(decl.name)
                project.services[decl.name] = _merge(prev, decl) if prev else decl
        secrets = doc.get("secrets")
        if isinstance(secrets, LMap):
            for sname, body in secrets.items():
                loc = Location(path, line_of(secrets, sname))
                if isinstance(body, LMap):
                    if isinstance(body.get("file"), str):
                        ref = _join(directory, self.interp.run(body["file"]).text)
                        project.secrets[str(sname)] = ("file", ref, loc)
                    elif isinstance(body.get("environment"), str):
                        project.secrets[str(sname)] = ("environment", body["environment"], loc)
                    else:
                        project.secrets[str(sname)] = ("external", "", loc)

    def _extend(self, decl: _Decl, depth: int) -> _Decl:
        assert decl.extends is not None
        other_file, other_name, _loc = decl.extends
        path = decl.location.path if other_file is None else _join(decl.base_dir, other_file)
        if path != "-" and path not in self.ctx.files and path not in self.texts:
            return decl
        try:
            doc = self._doc(path)
        except UnreadableFile:
            return decl
        services = doc.get("services")
        if not isinstance(services, LMap) or not isinstance(services.get(other_name), LMap):
            return decl
        if depth > _MAX_DEPTH:
            raise UnreadableFile("compose extends nested too deeply (a loop?)")
        base = self._decl(other_name, services[other_name], path, posixpath.dirname(path), services)
        if base.extends is not None:
            base = self._extend(base, depth + 1)
        base.name = decl.name
        return _merge(base, decl)

    # -- one service --------------------------------------------------------------------------

    def _decl(self, name: str, body: LMap, path: str, directory: str, services: LMap) -> _Decl:
        decl = _Decl(name, Location(path, line_of(services, name)), directory)
        image = body.get("image")
        if isinstance(image, str):
            decl.image = self.interp.run(image).text
        decl.replicas = _int(self.interp, body.get("scale"))
        deploy = body.get("deploy")
        if isinstance(deploy, LMap) and deploy.get("replicas") is not None:
            decl.replicas = _int(self.interp, deploy.get("replicas"))
        for key in ("command", "entrypoint"):
            value = body.get(key)
            text = " ".join(str(v) for v in value) if isinstance(value, LSeq) else value
            if isinstance(text, str):
                decl.command = (decl.command + " " if decl.command else "") + text
                workers = workers_from_args(self.interp.run(text).text)
                if workers:
                    decl.workers = workers
        env = body.get("environment")
        if isinstance(env, LMap):
            for key in env:
                text = scalar_text(env, key)
                decl.env[str(key)] = self._entry(str(key), text, Location(path, line_of(env, key)))
        elif isinstance(env, LSeq):
            for i, item in enumerate(env):
                if not isinstance(item, str):
                    continue
                key, sep, value = item.partition("=")
                decl.env[key.strip()] = self._entry(
                    key.strip(), value if sep else None, Location(path, line_of(env, i))
                )
        env_file = body.get("env_file")
        items = [env_file] if isinstance(env_file, str | LMap) else env_file
        if isinstance(items, list):
            for i, item in enumerate(items):
                loc = Location(
                    path, line_of(env_file, i) if isinstance(env_file, LSeq) else line_of(body, "env_file")
                )
                if isinstance(item, str):
                    decl.env_files += ((_join(directory, self.interp.run(item).text), True, loc),)
                elif isinstance(item, LMap) and isinstance(item.get("path"), str):
                    required = item.get("required", True) is not False
                    decl.env_files += (
                        (_join(directory, self.interp.run(item["path"]).text), required, loc),
                    )
        secrets = body.get("secrets")
        if isinstance(secrets, LSeq):
            for i, item in enumerate(secrets):
                loc = Location(path, line_of(secrets, i))
                if isinstance(item, str):
                    decl.secrets += ((item, item, loc),)
                elif isinstance(item, LMap) and isinstance(item.get("source"), str):
                    target = item.get("target") if isinstance(item.get("target"), str) else None
                    decl.secrets += ((item["source"], target or item["source"], loc),)
        volumes = body.get("volumes")
        if isinstance(volumes, LSeq):
            for item in volumes:
                mount = self._mount(item, directory)
                if mount is not None:
                    decl.volumes += (mount,)
        build = body.get("build")
        context = build.get("context", ".") if isinstance(build, LMap) else build
        if isinstance(context, str) and "://" not in context and not context.startswith("git@"):
            decl.build_context = _join(directory, self.interp.run(context).text)
            dockerfile = build.get("dockerfile") if isinstance(build, LMap) else None
            name = self.interp.run(dockerfile).text if isinstance(dockerfile, str) else "Dockerfile"
            decl.dockerfile = _join(decl.build_context, name)
        extends = body.get("extends")
        if isinstance(extends, str):
            decl.extends = (None, extends, decl.location)
        elif isinstance(extends, LMap) and isinstance(extends.get("service"), str):
            file = extends.get("file")
            decl.extends = (file if isinstance(file, str) else None, extends["service"], decl.location)
        return decl

    def _entry(self, variable: str, text: str | None, location: Location) -> _EnvEntry:
        """An ``environment:`` entry with its origin: the variable a whole-value reference (or
        a bare entry) interpolates, else the place the value is written (a YAML anchor merged
        into several services points every one of them at the same line)."""
        if text is None:
            origins: tuple[Origin, ...] = (self.interp.origin(variable, location),)
        else:
            m = _WHOLE_REF.fullmatch(text)
            if m:
                name = m.group("braced") or m.group("bare")
                origins = (self.interp.origin(name, location),)
            elif "$" in text:
                origins = ()  # part of a larger value (a URL with a password): not one secret
            else:
                origins = (Origin(OriginKind.WRITTEN, str(location), location),)
        return _EnvEntry(variable, text, location, origins)

    def _mount(self, item: Any, directory: str) -> Mount | None:
        if isinstance(item, str):
            parts = self.interp.run(item).text.split(":")
            if len(parts) < 2:
                return Mount("", parts[0], persistent=False)  # anonymous: one per container
            source, target = parts[0], parts[1]
        elif isinstance(item, LMap):
            source = str(item.get("source") or "")
            target = str(item.get("target") or "")
            if item.get("type") in ("tmpfs", "npipe") or not source:
                return Mount("", target, persistent=False)
        else:
            return None
        if source.startswith((".", "/", "~")):
            source = _join(directory, source) if source.startswith(".") else posixpath.normpath(source)
        return Mount(source, target, persistent=True)

    # -- services -----------------------------------------------------------------------------

    def _build(self, project: _Project) -> None:
        ctx = self.ctx
        for decl in project.services.values():
            env: dict[str, Assignment] = {}
            # Non-secret values we need (ENVIRONMENT, worker variables): the service's own,
            # then each env file's, later files first. Chained, not copied: 200 services naming
            # one 0.8 MB env file held 200 copies of its values (80 MB).
            plain: dict[str, str] = {}
            from_env_files: list[dict[str, str]] = []  # shared between services: read only
            known: dict[str, str] = {}  # what this service's env files set so far

            def lookup(name: str, decl: _Decl = decl) -> str | None:
                # Compose resolves ${X} in an env_file from the project environment first, then
                # the service's `environment:`, then what the env files set earlier.
                found = self.interp.values.get(name)
                item = decl.env.get(name) if found is None else None
                if item is not None and item.text is not None:
                    found = self.interp.run(item.text).text
                return found

            for declared_path, _required, loc in decl.env_files:
                env_path, template = declared_path, False
                if _outside(env_path):
                    self._skip_ref(loc, f"env_file {env_path}", UnreadableFile(OUTSIDE_REASON))
                    continue
                if env_path not in ctx.files and env_path not in self.texts:
                    copy = _template_for(env_path, ctx.files)
                    if copy is None:
                        continue
                    env_path, template = copy, True  # the documented `cp x.example x`
                try:
                    parsed = dotenv_file(ctx, env_path, self._text(env_path))
                    split = parsed.split(parsed.for_compose(lookup, known), ctx.is_recorded)
                except UnreadableFile as exc:
                    self.result.skipped.append(_skip(env_path, exc))
                    continue
                note = f"env_file: {declared_path}" + (f" (copied from {env_path})" if template else "")
                from_env_files.insert(0, split.plain)
                if len(split.recorded) > self.pairs_left:
                    if self.pairs_left >= 0:
                        self.result.skipped.append(_skip(env_path, UnreadableFile(
                            f"env files give this compose project more than {MAX_ENV_FILE_PAIRS} "
                            "secret-like service variables; the rest are not checked"
                        )))
                    self.pairs_left = -1
                    continue
                self.pairs_left -= len(split.recorded)
                for shared in split.recorded:
                    entry = shared.entry
                    written = Location(env_path, entry.line)
                    before = env.get(entry.key)
                    origin = Origin(OriginKind.WRITTEN, str(written), written)
                    env[entry.key] = Assignment(
                        variable=entry.key,
                        value=shared.value,
                        location=written,
                        source=self.kind,
                        environment=None,
                        service=decl.name,
                        chain=(Step(loc, note), Step(written, entry.key)),
                        raw=shared.raw,
                        template=ctx.template or template,
                        literal=True,
                        tracked=ctx.tracked_of(env_path),
                        readers=shared.readers,
                        origins=_union((origin,), before.origins if before else ()),
                    )
            for var, item in decl.env.items():
                if not ctx.is_recorded(var):
                    if item.text is not None:
                        plain[var] = self.interp.run(item.text).text
                    elif var in self.interp.values:
                        plain[var] = self.interp.values[var] or ""
                    continue
                from_files = env.get(var)
                # `environment:` wins over env_file; the env_file line stays an origin.
                env[var] = self._env_assignment(
                    decl, item, _union(item.origins, from_files.origins) if from_files is not None
                    else item.origins)
            service = Service(
                name=decl.name,
                platform="compose",
                environment=self.environment,
                location=decl.location,
                image=decl.image,
                replicas=decl.replicas if decl.replicas is not None else 1,
                workers=decl.workers or 1,
                env=env,
            )
            settings: Mapping[str, str] = ChainMap(plain, *from_env_files) if from_env_files else plain
            from_settings = workers_from_settings(settings)
            if from_settings and not decl.workers:
                service.workers = from_settings
            if service.environment is None:
                for env_path, _required, _loc in decl.env_files:
                    if env_path not in ctx.files and env_path not in self.texts:
                        continue  # an optional env file that is absent says nothing
                    service.environment = ctx.environment_of(env_path)
                    if service.environment:
                        break
            if service.environment is None:
                service.environment = environment_from_settings(settings, ctx.config.environments)
            for source, target, loc in decl.secrets:
                secret_file = self._secret_file(project, decl, source, target, loc)
                if secret_file is not None:
                    mount = target if target.startswith("/") else f"/run/secrets/{target}"
                    service.secret_files[mount] = secret_file
            service.mounts = tuple(decl.volumes)
            service.command = decl.command
            service.unit = self.unit.id
            service.build_context = decl.build_context
            service.dockerfile = decl.dockerfile
            service.settings = settings
            for a in env.values():
                if a.environment is None and service.environment:
                    env[a.variable] = _with_env(a, service.environment)
            self.result.services.append(service)

    def _env_assignment(
        self, decl: _Decl, item: _EnvEntry, origins: tuple[Origin, ...]
    ) -> Assignment:
        ctx = self.ctx
        text = item.text
        if text is None:
            if item.variable not in self.interp.values:
                return Assignment(
                    variable=item.variable,
                    value=None,
                    location=item.location,
                    source=self.kind,
                    environment=None,
                    service=decl.name,
                    chain=(Step(item.location, f"{item.variable} passed through from the shell"),),
                    template=ctx.template,
                    literal=False,
                    tracked=ctx.tracked_of(item.location.path),
                    origins=origins,
                )
            text = "${" + item.variable + "}"  # a bare entry resolves like `${NAME}` (shell, .env)
        result = self.interp.run(text)
        chain = (Step(item.location, f"environment: {item.variable}"), *self.interp.steps(result.used))
        readers: tuple[ReaderView, ...] = ()
        whole = _WHOLE_REF.fullmatch(text)
        unresolved = [n for n in result.missing if whole is None]
        value: SecretValue | None = SecretValue(result.text)
        from_template = self.interp.template and any(n in self.interp.values for n in result.used)
        literal = not [n for n in result.used if n not in result.missing]
        default = False
        if result.required_missing:
            value = None  # `${VAR:?msg}`: compose refuses to start unless the shell sets it
            chain = (
                *chain,
                Step(item.location, "required (${VAR:?}) and not in the project .env: the deploy "
                     "shell must set it"),
            )
            literal = False
        elif result.missing and whole is not None and whole.group("op") in (None, "+", ":+"):
            # `${VAR}` that nothing in the project sets: compose substitutes an empty string
            # (with a warning) unless the deploy shell exports VAR.
            value = SecretValue("")
            chain = (
                *chain,
                Step(item.location, f"nothing in the project sets {result.missing[0]}: compose "
                     "substitutes an empty string unless the deploy shell exports it"),
            )
            literal = False
        elif (
            whole is not None
            and whole.group("op") in ("-", ":-")
            and (self.interp.values.get(whole.group("braced")) or None) is None
        ):
            # `${VAR:-default}`: the default is what every deployment that leaves VAR unset runs,
            # written right here.
            default = literal = True
            chain = (*chain, Step(item.location, f"default of ${{{whole.group('braced')}:-...}}"))
        elif unresolved and result.text != text:
            readers = (
                ReaderView("as-written", SecretValue(text), "the text in the compose file"),
                ReaderView(
                    "compose-interpolation",
                    SecretValue(result.text),
                    "a '$name' fragment eaten by compose interpolation (write $$)",
                ),
            )
        return Assignment(
            variable=item.variable,
            value=value,
            location=item.location,
            source=self.kind,
            environment=None,
            service=decl.name,
            chain=chain,
            raw=SecretValue(text),
            template=ctx.template or from_template,
            literal=literal,
            tracked=ctx.tracked_of(item.location.path),
            readers=readers,
            origins=origins,
            default=default,
        )

    def _secret_file(
        self, project: _Project, decl: _Decl, source: str, target: str, loc: Location
    ) -> Assignment | None:
        top = project.secrets.get(source)
        if top is None:
            return None
        kind, ref, top_loc = top
        steps = [
            Step(loc, f"secrets: {source} -> /run/secrets/{target}"),
            Step(top_loc, f"secret {source} ({kind})"),
        ]

        def reference(value: str | None) -> Assignment:
            # The secret's value comes from elsewhere (an env var, an external store, a file
            # outside the project): not written here, known only when interpolation knows it.
            return Assignment(
                variable=target,
                value=SecretValue(value) if value is not None else None,
                location=top_loc,
                source=self.kind,
                environment=None,
                service=decl.name,
                chain=tuple(steps),
                literal=False,
                tracked=self.ctx.tracked_of(top_loc.path),
            )

        if kind == "environment":
            return reference(self.interp.values.get(ref))
        if kind != "file":
            return reference(None)
        try:
            if _outside(ref):
                raise UnreadableFile(OUTSIDE_REASON)
            text = self._text(ref)
        except UnreadableFile as exc:
            self._skip_ref(top_loc, f"secret {source} file {ref}", exc)
            return reference(None)
        steps.append(Step(Location(ref, 1), "mounted file"))
        return mounted_file_assignment(
            target, text, Location(ref, 1), self.kind, decl.name, tuple(steps), self.ctx.tracked_of(ref)
        )


def _with_env(a: Assignment, environment: str) -> Assignment:
    return replace(a, environment=environment)


def _int(interp: _Interp, value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = interp.run(value).text.strip()
        if text.isdigit():
            return int(text)
    return None


def _merge(base: _Decl, over: _Decl) -> _Decl:
    """Compose's merge of two declarations of one service (later file wins per key)."""
    merged = _Decl(over.name, base.location, base.base_dir)
    merged.image = over.image or base.image
    merged.replicas = over.replicas if over.replicas is not None else base.replicas
    merged.workers = over.workers or base.workers
    merged.command = over.command or base.command
    merged.env = dict(base.env)
    for key, entry in over.env.items():
        before = base.env.get(key)
        # The replaced declaration's origins stay: a value an override changed still belongs
        # to the group fed from the original origin, and must be seen to disagree with it.
        merged.env[key] = (
            replace(entry, origins=_union(entry.origins, before.origins)) if before else entry
        )
    merged.build_context = over.build_context or base.build_context
    merged.dockerfile = over.dockerfile or base.dockerfile
    merged.env_files = (*base.env_files, *[e for e in over.env_files if e not in base.env_files])
    merged.secrets = (*base.secrets, *[s for s in over.secrets if s not in base.secrets])
    merged.volumes = (*base.volumes, *over.volumes)
    return merged


def _union(first: tuple[Origin, ...], second: tuple[Origin, ...]) -> tuple[Origin, ...]:
    return tuple(dict.fromkeys((*first, *second)))


def _skip(path: str, exc: UnreadableFile) -> Any:
    from keydrift.model.types import Skipped

    return Skipped(Location(path, exc.line), exc.reason)
