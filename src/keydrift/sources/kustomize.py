"""``kustomization.yaml``: Secrets and ConfigMaps made by ``secretGenerator`` / ``configMapGenerator``.

Kustomize is the usual way overlays deliver per-environment secrets. Each generator becomes a
:class:`KeyStore` that workloads reference by name (kustomize rewrites the hashed name in the
references it renders, so the generator's ``name`` is what manifests use). Values are what the
pod sees: ``literals`` as written after ``=``; ``envs`` files line by line with everything after
``=`` kept, quotes included, as ``kubectl create secret --from-env-file`` does; ``files`` byte
for byte, a trailing newline included. Where other readers see the same text differently, the
views go to ``readers`` (KD501). Patches, components and remote bases are not rendered.
"""

from __future__ import annotations

import posixpath

from keydrift.model.names import NameClassifier
from keydrift.model.types import Assignment, Location, ReaderView, Skipped, Step
from keydrift.secret import SecretValue
from keydrift.sources._support.envinfer import environment_from_name
from keydrift.sources._support.yamlnodes import LMap, LSeq, iter_yaml, line_of
from keydrift.sources.dotenv import dotenv_file, reader_views
from keydrift.sources.interface import (
    OUTSIDE_REASON,
    KeyStore,
    ReadContext,
    Source,
    SourceResult,
    UnreadableFile,
)

__all__ = ["KustomizeSource"]

_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_GENERATORS = (("Secret", "secretGenerator"), ("ConfigMap", "configMapGenerator"))


class KustomizeSource(Source):
    """``kustomization.y*ml`` files with secret or config map generators."""

    kind = "kustomize"
    priority = 35  # before the manifest reader, which would otherwise claim the YAML file
    max_bytes = 1 * 1024 * 1024

    def matches(self, path: str) -> bool:
        return path.rsplit("/", 1)[-1] in _NAMES

    def wants(self, data: bytes, names: NameClassifier) -> bool:
        return b"Generator" in data

    def read(self, path: str, text: str, ctx: ReadContext) -> SourceResult:
        result = SourceResult()
        for doc in iter_yaml(text):
            if not isinstance(doc, LMap):
                continue
            namespace = doc.get("namespace") if isinstance(doc.get("namespace"), str) else None
            for store_kind, key in _GENERATORS:
                entries = doc.get(key)
                if not isinstance(entries, LSeq):
                    continue
                for entry in entries:
                    if isinstance(entry, LMap) and isinstance(entry.get("name"), str):
                        self._generator(entry, store_kind, namespace, path, ctx, result)
        return result

    def _generator(
        self,
        entry: LMap,
        store_kind: str,
        namespace: str | None,
        path: str,
        ctx: ReadContext,
        result: SourceResult,
    ) -> None:
        name = str(entry["name"])
        ns = entry.get("namespace") if isinstance(entry.get("namespace"), str) else namespace
        environment = ctx.environment or (
            environment_from_name(ns, ctx.config.environments) if ns else None
        )
        store = KeyStore(store_kind, name, ns, environment, Location(path, entry.line))
        what = f"{store_kind[0].lower()}{store_kind[1:]}Generator {name}"

        def add(variable: str, value: str, loc: Location, chain: tuple[Step, ...],
                readers: tuple[ReaderView, ...] = (), tracked: str | None = None) -> None:
            store.data[variable] = Assignment(
                variable=variable,
                value=SecretValue(value),
                location=loc,
                source="kubernetes",  # what it makes is Kubernetes configuration
                environment=environment,
                chain=chain,
                raw=SecretValue(value),
                template=ctx.template,
                literal=True,
                tracked=ctx.tracked if tracked is None else tracked,
                readers=readers,
            )

        literals = entry.get("literals")
        if isinstance(literals, LSeq):
            for index, item in enumerate(literals):
                if isinstance(item, str) and "=" in item:
                    variable, _, value = item.partition("=")
                    loc = Location(path, literals.item_lines[index])
                    add(variable.strip(), value, loc, (Step(loc, f"{what} literal {variable}"),))

        env_files = entry.get("envs")
        if isinstance(entry.get("env"), str):  # the older singular form
            env_files = [entry["env"], *(env_files if isinstance(env_files, list) else [])]
        for ref in env_files if isinstance(env_files, list) else []:
            decl = Location(path, line_of(entry, "envs") or line_of(entry, "env") or entry.line)
            rel = _relative(path, ref)
            if rel is None:
                _outside(result, decl, ref)
                continue
            text = _read(ctx, rel, result, decl)
            if text is None:
                continue
            for line in dotenv_file(ctx, rel, text).entries():
                if line.literal is None:
                    continue
                loc = Location(rel, line.line)
                # The same line as the other readers of env files see it, led by what the pod sees.
                views = reader_views(line)
                if views:
                    views = (ReaderView("kustomize-envs", SecretValue(line.literal),
                                        "what the pod sees: everything after '=' kept, quotes too"),
                             *views)
                add(line.key, line.literal, loc,
                    (Step(decl, f"{what} envs: {rel}"), Step(loc, line.key)),
                    views, ctx.tracked_of(rel))

        files = entry.get("files")
        if isinstance(files, LSeq):
            for index, item in enumerate(files):
                if not isinstance(item, str):
                    continue
                variable, sep, ref = item.partition("=")
                if not sep:
                    variable, ref = posixpath.basename(item), item
                decl = Location(path, files.item_lines[index])
                rel = _relative(path, ref.strip())
                if rel is None:
                    _outside(result, decl, ref.strip())
                    continue
                text = _read(ctx, rel, result, decl)
                if text is None:
                    continue
                views = ()
                if text != text.strip():
                    views = (
                        ReaderView("kustomize-files", SecretValue(text),
                                   "what the pod sees: the file byte for byte, trailing newline "
                                   "kept"),
                        ReaderView("stripped", SecretValue(text.strip()), "whitespace stripped"),
                    )
                add(variable.strip(), text, Location(rel, 1),
                    (Step(decl, f"{what} files: {rel}"), Step(Location(rel, 1), "file content")),
                    views, ctx.tracked_of(rel))

        result.stores.append(store)
        for variable, assignment in store.data.items():
            if ctx.is_secret(variable):
                result.assignments.append(assignment)


def _outside(result: SourceResult, where: Location, ref: object) -> None:
    if isinstance(ref, str) and ref and "://" not in ref:
        skipped = Skipped(where, f"{ref}: {OUTSIDE_REASON}")
        if skipped not in result.skipped:
            result.skipped.append(skipped)


def _relative(kustomization: str, ref: object) -> str | None:
    """``ref`` relative to the kustomization's folder, as a root-relative path, or ``None``
    when it is not a string or leaves the scanned tree."""
    if not isinstance(ref, str) or not ref or "://" in ref or ref.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(kustomization), ref))
    return None if joined == ".." or joined.startswith("../") else joined


def _read(ctx: ReadContext, rel: str, result: SourceResult, where: Location) -> str | None:
    try:
        text = ctx.read_text(rel)
    except UnreadableFile as exc:
        # Said, not silent: a file behind a symlink out of the tree is skipped for a reason.
        skipped = Skipped(where, f"{rel}: {exc.reason}")
        if skipped not in result.skipped:
            result.skipped.append(skipped)
        return None
    result.files.append(rel)
    return text
