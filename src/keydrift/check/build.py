"""Build the :class:`~keydrift.model.types.Model`: read sources, link references, evaluate.

For every environment E, service S and relevant spec P, the effective value follows
``P.variables_for(E)`` (the function the runtime resolver uses) with the resolver's per-variable
order: ``NAME`` first, then the file named by ``NAME_FILE``; an empty value counts as unset.
"""

from __future__ import annotations

import gc
import os
import posixpath
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TextIO

from keydrift.check.discovery import (
    MAX_FILE_BYTES,
    Candidate,
    FileReader,
    check_bytes,
    discover,
    explicit_error,
)
from keydrift.check.git import GitStatus, start_git_status
from keydrift.check.link import assign_units, link_code, link_config_files
from keydrift.check.parallel import can_fork, shared_map
from keydrift.check.stacks import ComposeStacks, loads_python_dotenv
from keydrift.errors import InputError, UsageError
from keydrift.model.config import Config, load_config
from keydrift.model.names import NameClassifier
from keydrift.model.types import (
    Assignment,
    Effective,
    Location,
    Model,
    Origin,
    OriginKind,
    Service,
    Skipped,
    Step,
    Unit,
    UnitKind,
)
from keydrift.presets.interface import Preset, all_presets, normalize_image
from keydrift.rules._common import judged_as_secret
from keydrift.sources._support.envinfer import (
    environment_from_name,
    environment_from_path,
    environment_from_variable,
    is_template_path,
    is_test_code,
)
from keydrift.sources._support.mounted import mounted_file_assignment
from keydrift.sources.interface import (
    KeyStore,
    ParseCache,
    PendingRef,
    ReadContext,
    Source,
    SourceResult,
    UnreadableFile,
    all_sources,
)
from keydrift.spec import SecretSpec, normalize_environment
from keydrift.strength import Assessment, assess, load_known_weak

__all__ = ["build_model", "preset_specs"]


def _presets() -> tuple[Preset, ...]:
    return all_presets()


def preset_specs() -> list[SecretSpec]:
    """The specs of every known preset."""
    return [spec for preset in all_presets() for spec in preset.specs]


def build_model(
    paths: Sequence[str],
    *,
    config: Config | None = None,
    environment: str | None = None,
    stdin: TextIO | None = None,
    jobs: int | None = None,
) -> Model:
    """See :func:`keydrift.check.build_model`. ``jobs=1`` reads every file in this process;
    ``None`` (the default) lets a forked child read part of a large tree on a second core."""
    with no_cyclic_gc():
        return _build(paths, config=config, environment=environment, stdin=stdin, jobs=jobs)


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """The cyclic collector off while a model is built and checked, restored as it was
    whatever happens. Parsing allocates millions of short-lived, acyclic objects (AST and
    YAML nodes) that reference counting frees; with the collector on, every full collection
    rescans the growing model (a 10x larger tree cost ~12x the time), and a forked child's
    scans would copy every page they touch."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _build(
    paths: Sequence[str],
    *,
    config: Config | None,
    environment: str | None,
    stdin: TextIO | None,
    jobs: int | None,
) -> Model:
    named = list(paths) or ["."]
    use_stdin = "-" in named
    fs_paths = [os.path.abspath(p) for p in named if p != "-"]
    for original, path in zip([p for p in named if p != "-"], fs_paths, strict=True):
        if not os.path.lexists(path):
            raise InputError(
                f"{original}: no such file or directory",
                advice="pass existing files or directories (or - for stdin)",
            )
    root = _root(fs_paths)
    # git answers while the readers and presets are imported (and is waited for, so reaped,
    # whatever happens meanwhile).
    git_answer = start_git_status(root) if fs_paths else None
    try:
        if config is None:
            config = load_config(root)
        presets = _presets()
        names = NameClassifier([*config.specs, *preset_specs()])
        sources = all_sources()
    finally:
        git = git_answer() if git_answer is not None else GitStatus(is_repo=False)
    walk = discover(root, fs_paths, sources, config.ignore) if fs_paths else None
    reader = FileReader(root, _roots(fs_paths))
    skipped: list[Skipped] = list(walk.skipped) if walk else []
    files: list[str] = []
    seen_files: set[str] = set()
    by_file: dict[str, SourceResult] = {}
    results: list[SourceResult] = []
    known = frozenset(walk.all_files) if walk else frozenset()
    compose = next(s for s in sources if s.kind == "compose")

    def is_compose(rel: str) -> bool:
        if compose.matches(rel):
            return True
        if not rel.endswith((".yml", ".yaml")):
            return False
        try:
            return looks_like_compose(reader.read_bytes(rel, compose.max_bytes))
        except UnreadableFile:
            return False

    stacks = ComposeStacks(known, reader.read_text, is_compose)
    parsed = ParseCache()  # each file parsed once this run, whatever number of readers name it

    def ctx_for(rel: str) -> ReadContext:
        return ReadContext(
            root=root,
            path=rel,
            environment=environment_from_path(rel, config.file_environments, config.environments)
            if rel != "-"
            else None,
            template=is_template_path(rel) or is_test_code(rel),
            tracked=git.status(rel),
            config=config,
            files=known,
            read_text=reader.read_text,
            environment_of=lambda p: environment_from_path(p, config.file_environments, config.environments),
            tracked_of=git.status,
            names=names,
            compose_stacks=stacks.stacks_with,
            parsed=parsed,
        )

    assessments: dict[str, Assessment] = {}
    verdicts: dict[tuple[str, str], bool] = {}
    seen: set[str] = set()  # values judged in this process (a forked reader keeps its own)
    seen_pairs: set[tuple[str, str]] = set()  # (fingerprint, variable) likewise
    unmarked: frozenset[str] = frozenset()
    if walk:
        # .env files first, then compose (which reads them), then the rest, by reader priority.
        candidates = sorted(walk.candidates, key=lambda c: (c.source.priority, c.rel))

        def job(cand: Candidate) -> _Read:
            calls: list[bool] = []
            marked: list[bool] = []
            outcome = _read_one(cand, reader, ctx_for, sources, names, calls, marked)
            found, judged = _judge(outcome, names, seen, seen_pairs)
            return _Read(outcome, found, judged, any(calls), marked == [False])

        reads = _read_all(candidates, job, root, jobs)
        for read in reads:
            assessments.update(read.assessments)
            verdicts.update(read.verdicts)
        stacks.python_dotenv_seen(any(read.dotenv_call for read in reads))
        unmarked = frozenset(
            cand.rel for cand, read in zip(candidates, reads, strict=True) if read.unmarked)
        for cand, result in zip(candidates, (read.outcome for read in reads), strict=True):
            if isinstance(result, Skipped):
                if cand.explicit:
                    raise explicit_error(cand.rel, UnreadableFile(result.reason, result.location.line))
                skipped.append(result)
                continue
            if result is None:
                continue
            for name in (cand.rel, *result.files):
                if name not in seen_files:
                    seen_files.add(name)
                    files.append(name)
            skipped.extend(result.skipped)
            if is_template_path(cand.rel):
                # An example compose/k8s file documents a deployment; it deploys nothing, so
                # its services are not evaluated (its assignments stay, marked template).
                result.assignments.extend(
                    a for svc in result.services for a in (*svc.env.values(),
                                                           *svc.secret_files.values())
                )
                result.services, result.refs = [], []
            results.append(result)
            by_file[cand.rel] = result
        # A compose file pulled in with `include:` is part of that project, not one of its own.
        for result in results:
            for part in result.included:
                if part in by_file and by_file[part] is not result:
                    by_file[part].services, by_file[part].refs = [], []
    if use_stdin:
        result = _read_stdin(_stdin_text(stdin or sys.stdin), ctx_for("-"), sources)
        files.append("-")
        results.append(result)

    services: list[Service] = []
    assignments: list[Assignment] = []
    stores: list[KeyStore] = []
    refs: list[PendingRef] = []
    for result in results:
        services.extend(result.services)
        assignments.extend(result.assignments)
        stores.extend(result.stores)
        refs.extend(result.refs)
    _link(refs, stores, services, names)
    _scale(services, [s for result in results for s in result.scalers])
    declared_units = [u for result in results for u in result.units]
    declared_units += [
        Unit(s.unit, UnitKind.KUSTOMIZE, Location(s.unit.split(":", 1)[1], None))
        for s in services if s.unit.startswith("kustomize:")
    ]
    units = assign_units(services, declared_units)
    code = [c for result in results for c in result.code]
    readers_in_use: dict[str, set[str]] = {}
    for a in assignments:
        if a.readers and a.source == "dotenv":
            readers_in_use.setdefault(a.location.path, set()).update(
                stacks.env_file_readers(a.location.path))
    for service in services:
        for b in service.env.values():
            if b.source == "compose" and b.location.path in readers_in_use:
                readers_in_use[b.location.path].add("compose-env_file")
    link_code(services, code, [i for result in results for i in result.images])
    link_config_files(services, assignments)

    preset_by_service = _attach(services, presets, config)
    seen_ids = {id(a) for a in assignments}
    for service in services:
        for a in (*service.env.values(), *service.secret_files.values()):
            if id(a) not in seen_ids:
                seen_ids.add(id(a))
                assignments.append(a)

    wanted = normalize_environment(environment) if environment else None
    environments = _environments(config, assignments, services)
    if wanted and environments and wanted not in environments:
        # Checking an environment the tree does not have would find nothing and pass CI.
        raise UsageError(
            f"no environment {wanted!r} in the checked files",
            advice="known environments: " + ", ".join(environments)
            + " (declare others with `environments` in keydrift.toml)",
        )
    if wanted:
        environments = [wanted]
    specs = list(config.specs)
    for extra in preset_by_service.values():
        for spec in extra:
            if spec not in specs:
                specs.append(spec)
    effective = _evaluate(services, environments, config, preset_by_service, wanted)
    # With --env E, effective values are computed for E only, but every assignment is kept:
    # KD303 must still see the production copy of a staging secret.
    return Model(
        root=root,
        environments=environments,
        production_like=frozenset(config.production_like),
        specs=specs,
        services=services,
        assignments=assignments,
        effective=effective,
        skipped=skipped,
        files=files,
        config=config,
        names=names,
        units=units,
        code=code,
        readers_in_use={k: frozenset(v) for k, v in readers_in_use.items()},
        assessments=assessments,
        verdicts=verdicts,
        unmarked=unmarked,
    )


def _roots(paths: list[str]) -> list[str]:
    """The directories a check may read in: each named directory, or a named file's folder."""
    return [p if os.path.isdir(p) else os.path.dirname(p) for p in paths]


def _root(paths: list[str]) -> str:
    if not paths:
        return os.getcwd()
    dirs = [p if os.path.isdir(p) else os.path.dirname(p) for p in paths]
    return os.path.commonpath(dirs) if len(dirs) > 1 else dirs[0]


# Readers that need nothing another file's reading leaves behind (compose reads the `.env`
# files read before it, and `.env` files are cached for it), so they may run in the child.
_OFFLOADABLE = frozenset({"python", "kubernetes", "kustomize", "shell", "json-config", "dockerfile"})
# Below this many bytes to hand over, a fork and the result transfer cost more than they save.
_MIN_OFFLOAD_BYTES = 512 * 1024

_Outcome = SourceResult | Skipped | None


@dataclass(frozen=True)
class _Read:
    """One candidate's reading, as it comes back from whichever process read it."""

    outcome: _Outcome
    assessments: dict[str, Assessment]
    """The strength policy's verdicts on the values it holds (see :func:`_judge`)."""
    verdicts: dict[tuple[str, str], bool]
    """Which of its (fingerprint, variable) pairs hold a value that policy judges."""
    dotenv_call: bool = False
    """A Python file that calls python-dotenv (pre-filtered out or not)."""
    unmarked: bool = False
    """Its bytes hold no ``keydrift`` (in any case), so no suppression comment."""


def _judge(
    outcome: _Outcome, names: NameClassifier, seen: set[str], seen_pairs: set[tuple[str, str]]
) -> tuple[dict[str, Assessment], dict[tuple[str, str], bool]]:
    """The strength policy's verdict on each secret-like value of ``outcome`` that this process
    has not judged yet (``seen``: fingerprints judged so far), by fingerprint; and whether
    each new (fingerprint, variable) pair is judged at all (:func:`judged_as_secret`, whose
    answer depends on the name too: ``seen_pairs``). Judged here, in whichever process read
    the file, because the rules would otherwise judge every value one after the other, each
    process its own share of rules; they use these and judge the rest."""
    found: dict[str, Assessment] = {}
    verdicts: dict[tuple[str, str], bool] = {}
    if not isinstance(outcome, SourceResult):
        return found, verdicts
    bound = [*outcome.assignments,
             *(a for s in outcome.services for a in (*s.env.values(), *s.secret_files.values()))]
    for a in bound:
        if a.value is None or not a.value or not names.is_secret(a.variable):
            continue
        key = a.value.fingerprint
        pair = (key, a.variable)
        if pair in seen_pairs:
            continue
        seen_pairs.add(pair)
        verdict = verdicts[pair] = judged_as_secret(a)  # the rules' own test
        if key in seen:
            continue
        seen.add(key)
        if verdict:
            found[key] = assess(a.value)
    return found, verdicts


def _read_all(
    candidates: list[Candidate],
    read: Callable[[Candidate], _Read],
    root: str,
    jobs: int | None,
) -> list[_Read]:
    """Every candidate read, in order. With a second core, the readers that depend on no other
    file share a queue (largest file first) with a forked child: this process reads the other
    files, then takes from the queue too (:mod:`keydrift.check.parallel`). The outcomes are the
    same either way."""
    shared = _shareable(candidates, root) if jobs != 1 and can_fork() else []
    if shared:
        load_known_weak()  # both processes judge values against it: load it once, before
    queued = set(shared)
    done = shared_map(shared, lambda i: read(candidates[i]), fork=bool(shared), noun="files",
                      first=[i for i in range(len(candidates)) if i not in queued])
    return [done[i] for i in range(len(candidates))]


def _shareable(candidates: list[Candidate], root: str) -> list[int]:
    """Indices of the candidates the child may read, largest file first (so the last jobs
    taken are short and neither process waits long for the other); none when there is too
    little to gain from a fork."""
    sizes: dict[int, int] = {}
    for i, cand in enumerate(candidates):
        if cand.source.kind in _OFFLOADABLE and not cand.explicit:
            try:
                sizes[i] = os.lstat(os.path.join(root, cand.rel)).st_size
            except OSError:
                sizes[i] = 0
    if sum(sizes.values()) < _MIN_OFFLOAD_BYTES:
        return []
    return sorted(sizes, key=lambda i: (-sizes[i], i))


def _read_one(
    cand: Candidate,
    reader: FileReader,
    ctx_for: object,
    sources: tuple[Source, ...],
    names: NameClassifier,
    dotenv_calls: list[bool],
    marked: list[bool],
) -> SourceResult | Skipped | None:
    """The candidate read by its reader (``None``: its pre-filter found nothing to read).
    While its bytes are in hand (whether or not the pre-filter wants it), appends to
    ``dotenv_calls`` whether a Python file calls python-dotenv, and to ``marked`` whether the
    file mentions ``keydrift`` at all (only such files can hold a suppression comment)."""
    assert callable(ctx_for)
    source = cand.source
    try:
        # Readers that may run in the child never take text another reader left in the cache
        # (a script read for its `compose -f` lines, a module scanned for `load_dotenv`): what
        # they check must not depend on what was read before them, or on which process reads.
        if source.kind not in _OFFLOADABLE and cand.rel in reader.cache:
            text = reader.cache[cand.rel]
            data = None
            marked.append("keydrift" in text.lower())
        else:
            data = reader.read_bytes(cand.rel, source.max_bytes)
            # Suppression comments are looked for later only in files that can hold one.
            marked.append(b"keydrift" in data.lower())  # C speed; a case-folding regex is 5x slower
            if source.kind == "python":
                dotenv_calls.append(loads_python_dotenv(data))
            if source.kind == "kubernetes" and looks_like_compose(data):
                # A compose file is known by its content, whatever its name (`default.yml`).
                source = next(s for s in sources if s.kind == "compose")
            if source.kind != "unknown" and not cand.explicit and not source.wants(data, names):
                return None
            text = reader.decode(data)
            if source.kind in ("dotenv", "compose"):
                reader.cache[cand.rel] = text  # compose projects read these again
        if source.kind == "unknown":
            source = _sniff(text, sources) or source
            if source.kind == "unknown":
                return SourceResult()
        result: SourceResult = source.read(cand.rel, text, ctx_for(cand.rel))
        return result
    except UnreadableFile as exc:
        return Skipped(Location(cand.rel, exc.line), exc.reason)
    except RecursionError:
        return Skipped(Location(cand.rel), "nested too deeply to read")


_COMPOSE_TOP = re.compile(rb"(?m)^services:[ \t]*(?:#.*)?\r?$")
_K8S_TOP = re.compile(rb"(?m)^(?:apiVersion|kind):")


def looks_like_compose(data: bytes) -> bool:
    """A top-level ``services:`` mapping and nothing of a Kubernetes manifest."""
    # The literal first: a multi-line regex search costs ~0.1 ms per Kubernetes manifest.
    return b"services:" in data and bool(_COMPOSE_TOP.search(data)) and not _K8S_TOP.search(data)


def _sniff(text: str, sources: tuple[Source, ...]) -> Source | None:
    for source in sources:
        if source.stdin_ok and source.sniff(text):
            return source
    for source in sources:
        if source.kind == "shell":
            return source
    return None


def _stdin_text(stream: TextIO) -> str:
    """Stdin with the same checks as a file (bytes when there is a binary buffer, so invalid
    UTF-8 is reported rather than raised by the text layer)."""
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        data = buffer.read(MAX_FILE_BYTES + 1)
    else:
        data = stream.read(MAX_FILE_BYTES + 1).encode("utf-8", "surrogatepass")
    try:
        check_bytes(data)
        return FileReader.decode(data)
    except UnreadableFile as exc:
        raise InputError(
            f"cannot check stdin: {exc.reason}",
            where="-",
            advice="pipe `kubectl get ... -o yaml` or `docker compose config` output",
        ) from None


def _read_stdin(text: str, ctx: ReadContext, sources: tuple[Source, ...]) -> SourceResult:
    source = _sniff(text, sources)
    if source is None:
        return SourceResult()
    if source.kind == "shell":
        for s in sources:
            if s.kind == "dotenv":
                source = s
    try:
        return source.read("-", text, ctx)
    except UnreadableFile as exc:
        raise InputError(
            f"cannot check stdin: {exc.reason}",
            where=f"-:{exc.line or 0}",
            advice="pipe `kubectl get ... -o yaml` or `docker compose config` output",
        ) from None


# -- Kubernetes references -------------------------------------------------------------------


_StoreIndex = dict[tuple[str, str], list[KeyStore]]


def _candidates(ref: PendingRef, stores: _StoreIndex) -> list[KeyStore]:
    return [
        s
        for s in stores.get((ref.kind, ref.name), ())
        if ref.namespace is None or s.namespace in (None, ref.namespace)
    ]


def _pick_store(ref: PendingRef, stores: _StoreIndex, service: Service) -> KeyStore | None:
    matches = _candidates(ref, stores)
    if not matches:
        return None
    service_dir = posixpath.dirname(ref.location.path)

    def score(store: KeyStore) -> tuple[int, int, int]:
        return (
            int(store.environment == service.environment),
            int(posixpath.dirname(store.location.path) == service_dir),
            int(store.namespace == ref.namespace),
        )

    return max(matches, key=score)


def _link(
    refs: list[PendingRef],
    all_stores: list[KeyStore],
    services: list[Service],
    names: NameClassifier,
) -> None:
    """Resolve pod-template references; ``env`` wins over ``envFrom`` (later envFrom wins).

    A workload without an environment whose Secrets exist in several environments (a kustomize
    ``base/`` with ``overlays/staging`` and ``overlays/production``) becomes one service per
    environment, each linked to that environment's Secrets.
    """
    index: _StoreIndex = {}
    for store in all_stores:
        index.setdefault((store.kind, store.name), []).append(store)
    stores = index
    grouped: dict[int, list[PendingRef]] = {}
    for ref in refs:
        grouped.setdefault(id(ref.service), []).append(ref)
    linked: list[Service] = []
    for service in services:
        own = grouped.get(id(service))
        if not own:
            linked.append(service)
            continue
        targets = [service]
        if service.environment is None:
            envs = sorted(
                {st.environment for r in own for st in _candidates(r, stores) if st.environment}
            )
            if envs:
                targets = []
                for env in envs:
                    # The overlay that supplies this environment's Secrets deploys the clone.
                    overlay = next(
                        posixpath.dirname(st.location.path)
                        for r in own for st in _candidates(r, stores) if st.environment == env
                    )
                    targets.append(_clone(service, env, f"kustomize:{overlay or '.'}"))
        for target in targets:
            for ref in own:
                _link_one(ref, target, stores, names)
        linked.extend(targets)
    services[:] = linked


def _clone(service: Service, environment: str, unit: str) -> Service:
    return replace(
        service,
        environment=environment,
        unit=unit,
        env={k: replace(a, environment=environment) for k, a in service.env.items()},
        secret_files=dict(service.secret_files),
    )


def _link_one(
    ref: PendingRef, service: Service, stores: _StoreIndex, names: NameClassifier
) -> None:
    store = _pick_store(ref, stores, service)
    ref_step = Step(ref.location, _ref_note(ref))
    if ref.mount:
        if store is None:
            return
        keys = [ref.key] if ref.key else list(store.data)
        for key in keys:
            if key not in store.data:
                continue
            target = ref.variable + key if ref.variable.endswith("/") else ref.variable
            held = store.data[key]
            mounted = _via(held, service, target, ref_step, _store_origin(ref, key))
            if held.value is not None:
                # A mounted file: keydrift's resolver drops one trailing newline, apps that
                # read the file themselves keep it (KD501 compares the two).
                as_file = mounted_file_assignment(
                    target, held.value.reveal_text(), held.location, held.source, service.name,
                    mounted.chain, held.tracked,
                )
                mounted = replace(
                    as_file, environment=mounted.environment, raw=held.raw, origins=mounted.origins
                )
            service.secret_files[target] = mounted
        return
    if ref.key is None:  # envFrom
        if store is None:
            return
        for key, assignment in store.data.items():
            var = ref.prefix + key
            if var in ref.shadow or not names.is_recorded(var):
                continue
            service.env[var] = _via(assignment, service, var, ref_step, _store_origin(ref, key))
        return
    found = store.data.get(ref.key) if store else None
    if found is None:
        where = f"{ref.kind} {ref.name}" + ("" if store else " (not in the scanned files)")
        service.env[ref.variable] = Assignment(
            variable=ref.variable,
            value=None,
            location=ref.location,
            source="kubernetes",
            environment=service.environment,
            service=service.name,
            chain=(ref_step, Step(ref.location, f"key {ref.key} of {where}")),
            literal=False,
            origins=(_store_origin(ref, ref.key),),
        )
        return
    service.env[ref.variable] = _via(
        found, service, ref.variable, ref_step, _store_origin(ref, ref.key)
    )


def _scale(services: list[Service], scalers: list[tuple[str, str | None, int]]) -> None:
    """An autoscaler may run up to ``maxReplicas`` pods of its target: count the most.

    Matched by workload name; an autoscaler whose namespace names another environment than the
    workload's is for a different deployment of it.
    """
    for name, namespace, most in scalers:
        scaler_env = environment_from_name(namespace) if namespace else None
        for service in services:
            if service.platform != "kubernetes" or service.name.split("/", 1)[0] != name:
                continue  # names are "workload/container" for multi-container pods
            if scaler_env and service.environment and scaler_env != service.environment:
                continue
            service.replicas = max(service.replicas, most)


def _ref_note(ref: PendingRef) -> str:
    if ref.mount:
        return f"volume from {ref.kind} {ref.name} at {ref.variable}"
    if ref.key is None:
        prefix = f" (prefix {ref.prefix})" if ref.prefix else ""
        return f"envFrom {ref.kind} {ref.name}{prefix}"
    return f"{ref.variable} from {ref.kind} {ref.name} key {ref.key}"


def _store_origin(ref: PendingRef, key: str) -> Origin:
    return Origin(OriginKind.STORE_KEY, f"{ref.kind} {ref.name} key {key}", ref.location)


def _via(
    store_value: Assignment, service: Service, variable: str, step: Step, origin: Origin
) -> Assignment:
    return replace(
        store_value,
        variable=variable,
        service=service.name,
        environment=service.environment or store_value.environment,
        chain=(step, *store_value.chain),
        origins=(origin,),
    )


# -- presets, groups, environments ------------------------------------------------------------


def _attach(
    services: list[Service], presets: tuple[Preset, ...], config: Config
) -> dict[int, list[SecretSpec]]:
    out: dict[int, list[SecretSpec]] = {}
    # Matching is by image and command only, and a tree has few distinct ones however many
    # services it declares (60,000 services, 10 images): match each pair once.
    runs: dict[tuple[str | None, str | None], list[Preset]] = {}
    for service in services:
        key = (service.image, service.command)
        matched = runs.get(key)
        if matched is None:
            names = normalize_image(service.image) if service.image else None
            matched = runs[key] = [] if names is None else [
                p for p in presets if p.runs_app(names, service.command)
            ]
        service.presets = tuple(p.id for p in matched)
        service.groups = config.groups_of(service.name)
        out[id(service)] = [spec for p in matched for spec in p.specs]
    return out


def _environments(
    config: Config, assignments: list[Assignment], services: list[Service]
) -> list[str]:
    seen = set(config.environments)
    seen.update(a.environment for a in assignments if a.environment)
    # `JWT_SECRET_PRODUCTION` set for a service says a production deployment exists
    for a in assignments:
        if a.environment is None and "_" in a.variable:
            env = environment_from_variable(a.variable, config.environments)
            if env:
                seen.add(env)
    seen.update(s.environment for s in services if s.environment)
    return sorted(seen)


def _relevant_specs(service: Service, config: Config, preset_specs_: list[SecretSpec]) -> list[SecretSpec]:
    """A preset's main secret is needed by every service running the app; its other secrets
    and configured specs only by services that name one of their variables."""
    def named(spec: SecretSpec) -> bool:
        suffix = spec.file_suffix
        names = [n.removesuffix(suffix) if n.endswith(suffix) else n for n in service.env]
        return any(spec.matches_variable(n) for n in names)

    specs = list(preset_specs_[:1])
    specs += [s for s in preset_specs_[1:] if named(s) and s not in specs]
    for spec in config.specs:
        if spec not in specs and (service.groups or named(spec)):
            specs.append(spec)
    return specs


def _evaluate(
    services: list[Service],
    environments: list[str],
    config: Config,
    preset_by_service: dict[int, list[SecretSpec]],
    wanted: str | None,
) -> list[Effective]:
    out: list[Effective] = []
    for service in services:
        if wanted and service.environment not in (None, wanted):
            continue
        envs: list[str | None] = (
            [service.environment] if service.environment is not None else [*environments] or [None]
        )
        for spec in _relevant_specs(service, config, preset_by_service.get(id(service), [])):
            for env in envs:
                out.append(effective_for(service, spec, env))
    return out


def effective_for(service: Service, spec: SecretSpec, environment: str | None) -> Effective:
    """The resolver's answer for ``service`` in ``environment``: the first variable of
    ``spec.variables_for(environment)`` that is set (``NAME``, then ``NAME_FILE``)."""
    winner: Assignment | None = None
    variable: str | None = None
    shadowed: list[Assignment] = []
    empty: tuple[str, Assignment] | None = None
    for name in spec.variables_for(environment):
        found = _lookup(service, name, spec.file_suffix)
        if found is None:
            given = service.env.get(name)
            if empty is None and given is not None and given.value is not None:
                empty = (name, given)  # set to "": unset for the resolver, but say where
            continue
        if winner is None:
            winner, variable = found, name
        else:
            shadowed.append(found)
    if winner is None and empty is not None:
        variable, winner = empty
    return Effective(
        service=service,
        environment=environment,
        spec=spec,
        variable=variable,
        assignment=winner,
        shadowed=tuple(shadowed),
    )


def _lookup(service: Service, name: str, suffix: str) -> Assignment | None:
    direct = service.env.get(name)
    if direct is not None and (direct.value is None or len(direct.value) > 0):
        return direct
    via = service.env.get(name + suffix)
    if via is None:
        return None
    path = via.value.reveal_text().strip() if via.value is not None else ""
    if not path:
        return None
    mounted = service.secret_files.get(path)
    if mounted is None and not path.startswith("/"):
        mounted = service.secret_files.get("/run/secrets/" + path)
    if mounted is None:
        return replace(
            via,
            variable=name,
            value=None,
            literal=False,
            chain=(
                *via.chain,
                Step(via.location, f"{name}{suffix} names a file not found in the scanned files"),
            ),
        )
    return replace(
        mounted, variable=name, chain=(Step(via.location, f"{name}{suffix} -> {path}"), *mounted.chain)
    )
