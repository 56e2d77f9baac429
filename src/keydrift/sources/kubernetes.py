"""Kubernetes manifests: workloads' pod templates, Secrets and ConfigMaps.

Multi-document YAML and ``kind: List`` (what ``kubectl get ... -o yaml`` prints) are read.
References from pod templates (``secretKeyRef``, ``envFrom``, secret volumes) become
:class:`~keydrift.sources.interface.PendingRef` objects that the model links to the Secrets and
ConfigMaps of every file once all are read; ``env`` wins over ``envFrom`` as in Kubernetes.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import re
from dataclasses import replace
from typing import Any

from keydrift.model.names import NameClassifier
from keydrift.model.types import Assignment, Location, Mount, ReaderView, Service, Skipped, Step
from keydrift.secret import SecretValue
from keydrift.sources._support.cliargs import workers_from_args, workers_from_settings
from keydrift.sources._support.envinfer import environment_from_name, environment_from_settings
from keydrift.sources._support.yamlnodes import LMap, LSeq, iter_yaml, line_of, load_empty, scalar_text
from keydrift.sources.compose import is_compose_name
from keydrift.sources.interface import (
    KeyStore,
    PendingRef,
    ReadContext,
    Source,
    SourceResult,
    UnreadableFile,
)

__all__ = ["KubernetesSource", "decode_secret_data"]

# Documents read from one file; the rest are reported as not checked.
MAX_DOCUMENTS = 10_000

_WORKLOADS = {
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "Rollout": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}
_NOT_MANIFESTS = re.compile(
    r"(^|/)(\.github|\.gitlab|\.circleci)/|(^|/)(\.pre-commit-config|mkdocs|\.gitlab-ci|"
    r"codecov|\.readthedocs|environment|pubspec|action|dependabot|renovate)\.ya?ml$|"
    r"(^|/)(Chart|values[^/]*)\.ya?ml$"
)
_B64_TEXT = re.compile(rb"^[A-Za-z0-9+/_-]{8,}={0,2}$")


def decode_secret_data(text: str) -> tuple[bytes | None, bytes | None]:
    """Decode a Secret ``data`` value; also return the second decoding when the decoded value is
    itself base64 of printable text (the classic ``echo $X | base64`` on an encoded value)."""
    try:
        once = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None, None
    twice: bytes | None = None
    stripped = once.strip()
    if _B64_TEXT.match(stripped) and len(stripped) % 4 == 0:
        try:
            candidate = base64.b64decode(stripped, validate=True)
        except (binascii.Error, ValueError):
            candidate = b""
        if candidate and all(32 <= b < 127 for b in candidate):
            twice = candidate
    return once, twice


def _dig(doc: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(doc, LMap):
            return None
        doc = doc.get(key)
    return doc


class KubernetesSource(Source):
    """``*.yaml`` / ``*.yml`` manifests that mention Secrets, ConfigMaps or containers."""

    kind = "kubernetes"
    priority = 40
    stdin_ok = True

    def matches(self, path: str) -> bool:
        if not (path.endswith(".yaml") or path.endswith(".yml")):
            return False
        name = path.rsplit("/", 1)[-1]
        return not is_compose_name(name) and not _NOT_MANIFESTS.search(path)

    def wants(self, data: bytes, names: NameClassifier) -> bool:
        return (
            b"kind:" in data
            and b"apiVersion" in data
            and (
                b"Secret" in data
                or b"ConfigMap" in data
                or b"containers:" in data
                or b"HorizontalPodAutoscaler" in data
            )
        )

    def sniff(self, text: str) -> bool:
        return "apiVersion:" in text and "kind:" in text

    def read(self, path: str, text: str, ctx: ReadContext) -> SourceResult:
        if "{{" in text and ("/templates/" in f"/{path}" or "{{-" in text or ".Values" in text):
            raise UnreadableFile(
                "a Helm template, not a manifest: check `helm template ... | keydrift check -`"
            )
        result = SourceResult()
        for count, doc in enumerate(iter_yaml(text)):
            if count == MAX_DOCUMENTS:
                # Bounded work per file: a `kubectl get -A -o yaml` dump of a large cluster has
                # a few thousand documents; 100,000 Secrets of distinct values took 11 s.
                result.skipped.append(Skipped(
                    Location(path),
                    f"more than {MAX_DOCUMENTS} documents; the rest are not checked",
                ))
                break
            for obj in _objects(doc):
                self._object(obj, path, ctx, result)
        return result

    def _object(self, obj: LMap, path: str, ctx: ReadContext, result: SourceResult) -> None:
        kind = obj.get("kind")
        if not isinstance(kind, str):
            return  # `kind: {..}` or a list: no object kubectl would apply (and not hashable)
        meta = obj.get("metadata")
        meta = meta if isinstance(meta, LMap) else load_empty()
        name = str(meta.get("name") or "")
        namespace = meta.get("namespace") if isinstance(meta.get("namespace"), str) else None
        environment = ctx.environment or (
            environment_from_name(namespace, ctx.config.environments) if namespace else None
        )
        if kind in ("Secret", "ConfigMap"):
            self._store(obj, str(kind), name, namespace, environment, path, ctx, result)
        elif kind in _WORKLOADS:
            self._workload(obj, str(kind), name, namespace, environment, path, ctx, result)
        elif kind == "HorizontalPodAutoscaler":
            target = _dig(obj, ("spec", "scaleTargetRef", "name"))
            most = _dig(obj, ("spec", "maxReplicas"))
            if isinstance(target, str) and isinstance(most, int) and not isinstance(most, bool):
                result.scalers.append((target, namespace, most))

    def _store(
        self,
        obj: LMap,
        kind: str,
        name: str,
        namespace: str | None,
        environment: str | None,
        path: str,
        ctx: ReadContext,
        result: SourceResult,
    ) -> None:
        store = KeyStore(kind, name, namespace, environment, Location(path, obj.line))
        data = obj.get("data")
        if isinstance(data, LMap):
            for key in data:
                text = scalar_text(data, key)
                if text is None:
                    continue
                loc = Location(path, line_of(data, key))
                chain: tuple[Step, ...] = (Step(loc, f"{kind} {name} data.{key}"),)
                if kind == "Secret":
                    once, twice = decode_secret_data(text)
                    readers: tuple[ReaderView, ...] = ()
                    if twice is not None and once is not None:
                        readers = (
                            ReaderView(
                                "k8s-secret-data", SecretValue(once), "what the pod sees: data decoded once"
                            ),
                            ReaderView(
                                "base64-decoded-twice",
                                SecretValue(twice),
                                "base64 twice: the decoded value is itself base64",
                            ),
                        )
                    value = SecretValue(once) if once is not None else None
                    if once is None:
                        chain = (*chain, Step(loc, "not valid base64: kubectl refuses it"))
                else:
                    value, readers = SecretValue(text), ()
                store.data[str(key)] = Assignment(
                    variable=str(key),
                    value=value,
                    location=loc,
                    source=self.kind,
                    environment=environment,
                    chain=chain,
                    raw=SecretValue(text),
                    template=ctx.template,
                    literal=True,
                    tracked=ctx.tracked,
                    readers=readers,
                )
        string_data = obj.get("stringData") if kind == "Secret" else None
        if isinstance(string_data, LMap):
            for key in string_data:
                text = scalar_text(string_data, key)
                if text is None:
                    continue
                loc = Location(path, line_of(string_data, key))
                store.data[str(key)] = Assignment(
                    variable=str(key),
                    value=SecretValue(text),
                    location=loc,
                    source=self.kind,
                    environment=environment,
                    chain=(Step(loc, f"Secret {name} stringData.{key}"),),
                    raw=SecretValue(text),
                    template=ctx.template,
                    literal=True,
                    tracked=ctx.tracked,
                )
        result.stores.append(store)
        for key, assignment in store.data.items():
            if ctx.is_secret(key):
                result.assignments.append(assignment)

    def _workload(
        self,
        obj: LMap,
        kind: str,
        name: str,
        namespace: str | None,
        environment: str | None,
        path: str,
        ctx: ReadContext,
        result: SourceResult,
    ) -> None:
        pod = _dig(obj, _WORKLOADS[kind])
        if not isinstance(pod, LMap):
            return
        replicas = _dig(obj, ("spec", "replicas"))
        if kind == "Job":
            replicas = _dig(obj, ("spec", "parallelism"))
        count = replicas if isinstance(replicas, int) and not isinstance(replicas, bool) else 1
        volumes: dict[str, tuple[str, LSeq | None]] = {}
        storage: dict[str, Mount] = {}  # volume name -> what backs it (target filled per mount)
        vols = pod.get("volumes")
        templates = _dig(obj, ("spec", "volumeClaimTemplates"))
        if isinstance(templates, LSeq):
            for claim in templates:
                claim_name = _dig(claim, ("metadata", "name"))
                if isinstance(claim_name, str):
                    # one claim per pod: persistent, but not shared between replicas
                    storage[claim_name] = Mount(f"pvc-per-pod:{name}/{claim_name}", "", True)
        if isinstance(vols, LSeq):
            for vol in vols:
                if isinstance(vol, LMap):
                    storage_of = _storage(vol)
                    if storage_of is not None:
                        storage[str(vol.get("name"))] = storage_of
                if isinstance(vol, LMap) and isinstance(vol.get("secret"), LMap):
                    secret = vol["secret"]
                    volumes[str(vol.get("name"))] = (
                        str(secret.get("secretName") or ""),
                        secret.get("items") if isinstance(secret.get("items"), LSeq) else None,
                    )
        containers = pod.get("containers")
        if not isinstance(containers, LSeq):
            return
        many = len([c for c in containers if isinstance(c, LMap)]) > 1
        for container in containers:
            if not isinstance(container, LMap):
                continue
            cname = str(container.get("name") or "")
            service = Service(
                name=f"{name}/{cname}" if many and cname else name,
                platform="kubernetes",
                environment=environment,
                location=Location(path, obj.line),
                image=container.get("image") if isinstance(container.get("image"), str) else None,
                replicas=max(1, count),
            )
            self._container(container, service, namespace, volumes, path, ctx, result)
            service.mounts = tuple(
                replace(storage[str(m.get("name"))], target=str(m.get("mountPath") or ""))
                for m in (container.get("volumeMounts") or [])
                if isinstance(m, LMap) and str(m.get("name")) in storage
            )
            result.services.append(service)

    def _container(
        self,
        container: LMap,
        service: Service,
        namespace: str | None,
        volumes: dict[str, tuple[str, LSeq | None]],
        path: str,
        ctx: ReadContext,
        result: SourceResult,
    ) -> None:
        env = container.get("env")
        explicit: set[str] = set()
        plain: dict[str, str] = {}
        if isinstance(env, LSeq):
            for i, item in enumerate(env):
                if not isinstance(item, LMap) or not isinstance(item.get("name"), str):
                    continue
                var = item["name"]
                explicit.add(var)
                loc = Location(path, line_of(env, i))
                value_from = item.get("valueFrom")
                if isinstance(value_from, LMap):
                    for ref_kind, field in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
                        ref = value_from.get(field)
                        if isinstance(ref, LMap) and ctx.is_recorded(var):
                            result.refs.append(
                                PendingRef(
                                    service=service,
                                    variable=var,
                                    kind=ref_kind,
                                    name=str(ref.get("name") or ""),
                                    key=str(ref.get("key") or ""),
                                    namespace=namespace,
                                    location=loc,
                                )
                            )
                    continue
                text = scalar_text(item, "value") if "value" in item else None
                if text is None:
                    continue
                if not ctx.is_recorded(var):
                    plain[var] = text
                    continue
                service.env[var] = Assignment(
                    variable=var,
                    value=SecretValue(text),
                    location=loc,
                    source=self.kind,
                    environment=service.environment,
                    service=service.name,
                    chain=(Step(loc, f"env {var}"),),
                    raw=SecretValue(text),
                    template=ctx.template,
                    literal=True,
                    tracked=ctx.tracked,
                )
        env_from = container.get("envFrom")
        if isinstance(env_from, LSeq):
            for i, item in enumerate(env_from):
                if not isinstance(item, LMap):
                    continue
                prefix = item.get("prefix") if isinstance(item.get("prefix"), str) else ""
                for ref_kind, field in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
                    ref = item.get(field)
                    if isinstance(ref, LMap):
                        result.refs.append(
                            PendingRef(
                                service=service,
                                variable="",
                                kind=ref_kind,
                                name=str(ref.get("name") or ""),
                                key=None,
                                namespace=namespace,
                                location=Location(path, line_of(env_from, i)),
                                prefix=prefix or "",
                                shadow=frozenset(explicit),
                            )
                        )
        mounts = container.get("volumeMounts")
        if isinstance(mounts, LSeq):
            for i, mount in enumerate(mounts):
                if not isinstance(mount, LMap) or str(mount.get("name")) not in volumes:
                    continue
                secret_name, items = volumes[str(mount.get("name"))]
                mount_path = str(mount.get("mountPath") or "")
                loc = Location(path, line_of(mounts, i))
                sub = mount.get("subPath")
                if isinstance(items, LSeq):
                    for item in items:
                        if isinstance(item, LMap) and isinstance(item.get("key"), str):
                            target = posixpath.join(mount_path, str(item.get("path") or item["key"]))
                            if isinstance(sub, str):
                                if sub != str(item.get("path") or item["key"]):
                                    continue
                                target = mount_path
                            result.refs.append(
                                PendingRef(
                                    service=service,
                                    variable=target,
                                    kind="Secret",
                                    name=secret_name,
                                    key=item["key"],
                                    namespace=namespace,
                                    location=loc,
                                    mount=True,
                                )
                            )
                else:
                    # every key becomes a file under mountPath (or exactly mountPath with subPath)
                    result.refs.append(
                        PendingRef(
                            service=service,
                            variable=mount_path if isinstance(sub, str) else mount_path + "/",
                            kind="Secret",
                            name=secret_name,
                            key=sub if isinstance(sub, str) else None,
                            namespace=namespace,
                            location=loc,
                            mount=True,
                        )
                    )
        if service.environment is None:
            service.environment = environment_from_settings(plain, ctx.config.environments)
            for assignment in service.env.values():
                if service.environment and assignment.environment is None:
                    service.env[assignment.variable] = replace(
                        assignment, environment=service.environment
                    )
        service.settings = plain
        from_settings = workers_from_settings(plain)
        if from_settings:
            service.workers = from_settings
        for key in ("command", "args"):
            value = container.get(key)
            if isinstance(value, LSeq):
                workers = workers_from_args(" ".join(str(v) for v in value))
                if workers:
                    service.workers = workers


def _storage(volume: LMap) -> Mount | None:
    """What backs a pod volume: a claim or host path persists (and is shared by every pod that
    mounts it); anything else lives and dies with the pod."""
    claim = volume.get("persistentVolumeClaim")
    if isinstance(claim, LMap) and isinstance(claim.get("claimName"), str):
        return Mount(f"pvc:{claim['claimName']}", "", True)
    host = volume.get("hostPath")
    if isinstance(host, LMap) and isinstance(host.get("path"), str):
        return Mount(f"host:{host['path']}", "", True)
    if "secret" in volume or "configMap" in volume or "projected" in volume:
        return None
    return Mount("", "", False)


def _objects(doc: Any) -> list[LMap]:
    if not isinstance(doc, LMap):
        return []
    if doc.get("kind") == "List" or (
        str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), LSeq)
    ):
        items = doc.get("items")
        return [i for i in items if isinstance(i, LMap)] if isinstance(items, LSeq) else []
    return [doc]
