"""Compose files: services, their container environment, replicas, workers and secrets.

A project is what ``docker compose`` would load: ``compose.yaml`` plus ``compose.override.yaml``
(by default), or the base file plus an environment variant (``docker-compose.prod.yml``, used as
``-f docker-compose.yml -f docker-compose.prod.yml``). ``include:`` and ``extends:`` are followed.
Values are interpolated as compose does, from the project's ``.env``; ``environment`` wins over
``env_file`` (later env files over earlier ones), as in compose.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from keydrift.model.types import Assignment, Location, ReaderView, Service, Step
from keydrift.secret import SecretValue
from keydrift.sources._support.cliargs import workers_from_args
from keydrift.sources._support.envinfer import environment_from_name
from keydrift.sources._support.interpolation import Interpolated, interpolate
from keydrift.sources._support.mounted import mounted_file_assignment
from keydrift.sources._support.yamlnodes import LMap, LSeq, iter_yaml, line_of, load_empty, scalar_text
from keydrift.sources.dotenv import DotenvEntry, parse_dotenv, reader_views
from keydrift.sources.interface import ReadContext, Source, SourceResult, UnreadableFile

__all__ = ["ComposeSource", "is_compose_name"]

_COMPOSE_NAME = re.compile(
    r"^(docker-)?compose([._-][A-Za-z0-9_.-]+)?\.ya?ml$|^[A-Za-z0-9_.-]+[._-](docker-)?compose\.ya?ml$"
)
_BASES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
_WORKER_VARS = ("WEB_CONCURRENCY", "UVICORN_WORKERS", "GUNICORN_WORKERS", "WORKERS")
_MAX_DEPTH = 8  # include/extends nesting; deeper is a loop or a mistake


def is_compose_name(name: str) -> bool:
    return bool(_COMPOSE_NAME.match(name))


@dataclass
class _EnvEntry:
    variable: str
    text: str | None  # as written (None: passed through from the shell)
    location: Location


@dataclass
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
    env_files: list[tuple[str, bool, Location]] = field(default_factory=list)
    secrets: list[tuple[str, str, Location]] = field(default_factory=list)  # source, target
    volumes: list[str] = field(default_factory=list)
    extends: tuple[str | None, str, Location] | None = None


@dataclass
class _Project:
    services: dict[str, _Decl] = field(default_factory=dict)
    secrets: dict[str, tuple[str, str, Location]] = field(default_factory=dict)  # kind, ref, loc
    files: list[str] = field(default_factory=list)


class _Interp:
    """Project ``.env`` lookups with locations, so chains can say where a value came from."""

    def __init__(self, entries: list[DotenvEntry], path: str | None) -> None:
        self.values = {e.key: e.compose for e in entries if e.compose is not None}
        self.lines = {e.key: e.line for e in entries}
        self.path = path

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
        is_override = ".override." in name
        project_files: list[str]
        environment = ctx.environment
        if path == "-" or ctx.template:
            project_files = [path]  # an example file is read alone: it documents, not deploys
        elif base is None or name == base:
            project_files = [path]
            override = (
                next(
                    (
                        o
                        for o in (_join(directory, b.replace(".y", ".override.y")) for b in _BASES)
                        if o in ctx.files
                    ),
                    None,
                )
                if name == base
                else None
            )
            if override:
                project_files.append(override)
        elif is_override:
            return SourceResult()  # read with its base file
        else:
            project_files = [_join(directory, base), path]
            environment = environment_from_name(name, ctx.config.environments) or environment
        texts = {path: text}
        return _Reader(ctx, texts, environment, self.kind).project(project_files)


def _join(directory: str, name: str) -> str:
    return posixpath.normpath(posixpath.join(directory, name))


class _Reader:
    def __init__(self, ctx: ReadContext, texts: dict[str, str], environment: str | None, kind: str) -> None:
        self.ctx = ctx
        self.texts = texts
        self.environment = environment
        self.kind = kind
        self.result = SourceResult()
        self.docs: dict[str, LMap] = {}

    # -- loading ------------------------------------------------------------------------------

    def _text(self, path: str) -> str:
        if path in self.texts:
            return self.texts[path]
        text = self.ctx.read_text(path)
        self.texts[path] = text
        if path not in self.result.files:
            self.result.files.append(path)
        return text

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
        if first != "-" and env_path in self.ctx.files:
            try:
                entries = parse_dotenv(self._text(env_path))
            except UnreadableFile:
                entries = []
        self.interp = _Interp(entries, env_path if entries else None)
        project = _Project()
        for path in files:
            self._merge_file(project, path, depth=0)
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
                    if inc.startswith("../") or inc not in self.ctx.files:
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
                decl.env[str(key)] = _EnvEntry(str(key), text, Location(path, line_of(env, key)))
        elif isinstance(env, LSeq):
            for i, item in enumerate(env):
                if not isinstance(item, str):
                    continue
                key, sep, value = item.partition("=")
                decl.env[key.strip()] = _EnvEntry(
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
                    decl.env_files.append((_join(directory, self.interp.run(item).text), True, loc))
                elif isinstance(item, LMap) and isinstance(item.get("path"), str):
                    required = item.get("required", True) is not False
                    decl.env_files.append(
                        (_join(directory, self.interp.run(item["path"]).text), required, loc)
                    )
        secrets = body.get("secrets")
        if isinstance(secrets, LSeq):
            for i, item in enumerate(secrets):
                loc = Location(path, line_of(secrets, i))
                if isinstance(item, str):
                    decl.secrets.append((item, item, loc))
                elif isinstance(item, LMap) and isinstance(item.get("source"), str):
                    target = item.get("target") if isinstance(item.get("target"), str) else None
                    decl.secrets.append((item["source"], target or item["source"], loc))
        volumes = body.get("volumes")
        if isinstance(volumes, LSeq):
            for item in volumes:
                if isinstance(item, str):
                    decl.volumes.append(item)
                elif isinstance(item, LMap):
                    decl.volumes.append(f"{item.get('source', '')}:{item.get('target', '')}")
        extends = body.get("extends")
        if isinstance(extends, str):
            decl.extends = (None, extends, decl.location)
        elif isinstance(extends, LMap) and isinstance(extends.get("service"), str):
            file = extends.get("file")
            decl.extends = (file if isinstance(file, str) else None, extends["service"], decl.location)
        return decl

    # -- services -----------------------------------------------------------------------------

    def _build(self, project: _Project) -> None:
        ctx = self.ctx
        for decl in project.services.values():
            env: dict[str, Assignment] = {}
            plain: dict[str, str] = {}  # non-secret values we need (ENVIRONMENT, worker vars)
            for env_path, _required, loc in decl.env_files:
                if env_path not in ctx.files and env_path not in self.texts:
                    continue
                try:
                    entries = parse_dotenv(self._text(env_path))
                except UnreadableFile as exc:
                    self.result.skipped.append(_skip(env_path, exc))
                    continue
                for entry in entries:
                    if entry.compose is None:
                        continue
                    if not ctx.is_recorded(entry.key):
                        plain[entry.key] = entry.compose
                        continue
                    env[entry.key] = Assignment(
                        variable=entry.key,
                        value=SecretValue(entry.compose),
                        location=Location(env_path, entry.line),
                        source=self.kind,
                        environment=None,
                        service=decl.name,
                        chain=(
                            Step(loc, f"env_file: {env_path}"),
                            Step(Location(env_path, entry.line), entry.key),
                        ),
                        raw=SecretValue(entry.literal) if entry.literal is not None else None,
                        template=ctx.template,
                        literal=True,
                        tracked=ctx.tracked_of(env_path),
                        readers=reader_views(entry),
                    )
            for var, item in decl.env.items():
                if not ctx.is_recorded(var):
                    if item.text is not None:
                        plain[var] = self.interp.run(item.text).text
                    continue
                env[var] = self._env_assignment(decl, item)
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
            for var in _WORKER_VARS:
                if plain.get(var, "").strip().isdigit() and not decl.workers:
                    service.workers = int(plain[var].strip())
                    break
            if service.environment is None:
                for env_path, _required, _loc in decl.env_files:
                    service.environment = ctx.environment_of(env_path)
                    if service.environment:
                        break
            if service.environment is None:
                for var in ("ENVIRONMENT", "APP_ENV", "ENV", "NODE_ENV", "DEPLOY_ENV"):
                    if plain.get(var):
                        service.environment = environment_from_name(plain[var], ctx.config.environments) or (
                            plain[var].strip().lower() or None
                        )
                        break
            for source, target, loc in decl.secrets:
                assignment = self._secret_file(project, decl, source, target, loc)
                if assignment is not None:
                    mount = target if target.startswith("/") else f"/run/secrets/{target}"
                    service.secret_files[mount] = assignment
            service.shares_state = _shares_state(decl.volumes, plain)
            for a in env.values():
                if a.environment is None and service.environment:
                    env[a.variable] = _with_env(a, service.environment)
            self.result.services.append(service)

    def _env_assignment(self, decl: _Decl, item: _EnvEntry) -> Assignment:
        ctx = self.ctx
        if item.text is None:
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
            )
        result = self.interp.run(item.text)
        chain = (Step(item.location, f"environment: {item.variable}"), *self.interp.steps(result.used))
        readers: tuple[ReaderView, ...] = ()
        unresolved = [n for n in result.missing if not _is_braced_ref(item.text)]
        value: SecretValue | None = SecretValue(result.text)
        literal = not [n for n in result.used if n not in result.missing]
        if result.required_missing:
            value = None  # `${VAR:?msg}`: compose refuses to start unless the shell sets it
            chain = (
                *chain,
                Step(item.location, "required (${VAR:?}) and not in the project .env: the deploy "
                     "shell must set it"),
            )
            literal = False
        elif result.missing and _is_braced_ref(item.text):
            value = None  # `${VAR}` that .env does not set: the deploy shell decides
            chain = (
                *chain,
                Step(item.location, "not set in the project .env: comes from the shell at deploy time"),
            )
            literal = False
        elif unresolved and result.text != item.text:
            readers = (
                ReaderView("as-written", SecretValue(item.text), "the text in the compose file"),
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
            raw=SecretValue(item.text),
            template=ctx.template,
            literal=literal,
            tracked=ctx.tracked_of(item.location.path),
            readers=readers,
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
            text = self._text(ref) if not ref.startswith("../") else None
        except UnreadableFile:
            text = None
        if text is None:
            return reference(None)
        steps.append(Step(Location(ref, 1), "mounted file"))
        return mounted_file_assignment(
            target, text, Location(ref, 1), self.kind, decl.name, tuple(steps), self.ctx.tracked_of(ref)
        )


def _is_braced_ref(text: str) -> bool:
    return bool(re.fullmatch(r"\s*\$\{[A-Za-z_][A-Za-z0-9_]*(:?[?+][^}]*)?\}\s*", text)) or bool(
        re.fullmatch(r"\s*\$[A-Za-z_][A-Za-z0-9_]*\s*", text)
    )


def _with_env(a: Assignment, environment: str) -> Assignment:
    from dataclasses import replace

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
    merged.env = {**base.env, **over.env}
    merged.env_files = [*base.env_files, *[e for e in over.env_files if e not in base.env_files]]
    merged.secrets = [*base.secrets, *[s for s in over.secrets if s not in base.secrets]]
    merged.volumes = [*base.volumes, *over.volumes]
    return merged


def _shares_state(volumes: list[str], plain: dict[str, str]) -> bool:
    # Apps like Langflow keep a generated key in a config dir; when every replica mounts the same
    # volume there, they share one key. We count a volume whose target is a *_CONFIG_DIR value
    # or looks like an app config/data dir.
    config_dirs = {v.rstrip("/") for k, v in plain.items() if k.endswith("CONFIG_DIR") and v}
    for volume in volumes:
        parts = volume.split(":")
        if len(parts) < 2:
            continue
        target = parts[1].rstrip("/")
        if target in config_dirs or re.search(r"/(\.?config|langflow)(/|$)", target):
            return True
    return False


def _skip(path: str, exc: UnreadableFile) -> Any:
    from keydrift.model.types import Skipped

    return Skipped(Location(path, exc.line), exc.reason)
