"""Where the probe's instances are: Kubernetes endpoint lists and every address of a DNS name.

``keydrift probe`` asks each instance on its own address, because a Service (or any load
balancer) in front of them picks one per connection and can hide the odd one out. Two ways to
list them without writing every URL by hand:

* :func:`endpoints_targets` reads what ``kubectl get endpointslices -l
  kubernetes.io/service-name=NAME -o json`` (or ``kubectl get endpoints NAME -o json``) prints:
  an ``EndpointSlice``, an ``Endpoints`` object, or a ``List`` of them. Ready addresses only
  (an EndpointSlice endpoint whose ``conditions.ready`` is absent counts as ready, as the API
  says), on the named port.
* :func:`dns_targets` expands ``dns+http://name:port/`` to one URL per A/AAAA record of
  ``name``, the form a headless Service publishes.

Both take their input from outside (a file anyone could have written, a DNS answer), so every
list is capped and nothing here raises for a bad entry except :class:`~keydrift.errors.InputError`
or :class:`~keydrift.errors.UsageError` with one clear line.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from keydrift.errors import InputError, UsageError

__all__ = [
    "DNS_SCHEMES",
    "MAX_TARGETS",
    "Target",
    "dns_targets",
    "endpoints_targets",
    "is_dns_url",
]

MAX_TARGETS = 4096  # instances one probe run asks; far above any single Service
MAX_ENDPOINTS_BYTES = 16 * 1024 * 1024
DNS_SCHEMES = ("dns+http", "dns+https")


@dataclass(frozen=True)
class Target:
    """One instance to probe: its base URL and where it came from (pod, DNS name)."""

    url: str
    label: str | None = None


def _host(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise InputError(f"not an IP address: {address[:64]!r}") from None
    return f"[{ip.compressed}]" if ip.version == 6 else ip.compressed


def _items(doc: Any) -> list[Mapping[str, Any]]:
    if not isinstance(doc, dict):
        raise InputError("not a Kubernetes object (expected a JSON object)")
    kind = doc.get("kind")
    if kind in ("List", "EndpointSliceList", "EndpointsList") or (
        kind is None and isinstance(doc.get("items"), list)
    ):
        items = doc.get("items")
        if not isinstance(items, list):
            raise InputError(f"{kind} without an items array")
        return [i for i in items if isinstance(i, dict)]
    return [doc]


def _pick_port(ports: Any, port: str | None, where: str) -> int | None:
    """The port named ``port`` (or numbered), or the only TCP port; ``None`` if absent."""
    usable = [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else []
    usable = [p for p in usable if p.get("protocol", "TCP") == "TCP"
              and isinstance(p.get("port"), int) and 0 < p["port"] < 65536]
    if port is not None:
        for p in usable:
            if p.get("name") == port or str(p["port"]) == port:
                return int(p["port"])
        return None
    if len(usable) == 1:
        return int(usable[0]["port"])
    if usable:
        names = ", ".join(sorted(str(p.get("name") or p["port"]) for p in usable))
        raise UsageError(f"{where} has several ports ({names}): choose one with --port NAME")
    return None


def _slice_targets(item: Mapping[str, Any], port: str | None, scheme: str) -> Iterable[Target]:
    name = _name(item)
    number = _pick_port(item.get("ports"), port, f"EndpointSlice {name}")
    if number is None:
        return
    if item.get("addressType", "IPv4") not in ("IPv4", "IPv6"):
        return  # FQDN slices name hosts, not instances
    for endpoint in item.get("endpoints") or ():
        if not isinstance(endpoint, dict):
            continue
        conditions = endpoint.get("conditions") or {}
        # API reference: "a nil value should be interpreted as true" (ready).
        if isinstance(conditions, dict) and conditions.get("ready") is False:
            continue
        pod = _pod(endpoint.get("targetRef"))
        for address in endpoint.get("addresses") or ():
            if isinstance(address, str):
                yield Target(f"{scheme}://{_host(address)}:{number}", pod)


def _endpoints_targets(item: Mapping[str, Any], port: str | None,
                       scheme: str) -> Iterable[Target]:
    name = _name(item)
    for subset in item.get("subsets") or ():
        if not isinstance(subset, dict):
            continue
        number = _pick_port(subset.get("ports"), port, f"Endpoints {name}")
        if number is None:
            continue
        # notReadyAddresses are left out: a pod that fails its readiness probe gets no traffic.
        for address in subset.get("addresses") or ():
            if isinstance(address, dict) and isinstance(address.get("ip"), str):
                yield Target(f"{scheme}://{_host(address['ip'])}:{number}",
                             _pod(address.get("targetRef")))


def _name(item: Mapping[str, Any]) -> str:
    meta = item.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return str(name)[:63] if name else "(unnamed)"


def _pod(ref: Any) -> str | None:
    if isinstance(ref, dict) and ref.get("kind", "Pod") == "Pod" and isinstance(ref.get("name"),
                                                                                 str):
        return f"pod {ref['name'][:253]}"
    return None


def endpoints_targets(data: bytes, *, port: str | None = None, scheme: str = "http",
                      where: str = "-") -> list[Target]:
    """Ready addresses of EndpointSlice / Endpoints JSON, one :class:`Target` each."""
    if scheme not in ("http", "https"):
        raise UsageError(f"unknown scheme {scheme!r}", advice="use http or https")
    if len(data) > MAX_ENDPOINTS_BYTES:
        raise InputError("larger than 16 MiB: not an endpoint list", where=where)
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        raise InputError("not JSON; pass what `kubectl get endpointslices -l "
                         "kubernetes.io/service-name=NAME -o json` prints", where=where) from None
    try:
        items = _items(doc)
        out: list[Target] = []
        seen: set[str] = set()
        for item in items:
            kind = item.get("kind")
            found = (_endpoints_targets(item, port, scheme) if kind == "Endpoints" or "subsets"
                     in item else _slice_targets(item, port, scheme))
            for target in found:
                if target.url not in seen:
                    seen.add(target.url)
                    out.append(target)
                if len(out) > MAX_TARGETS:
                    raise InputError(f"more than {MAX_TARGETS} ready addresses")
    except InputError as exc:
        raise InputError(exc.message, where=where, advice=exc.advice) from None
    if not out:
        which = f" on port {port}" if port else ""
        raise InputError(f"no ready address{which} in the endpoint list", where=where,
                         advice="check the Service's selector and its pods' readiness; "
                         "--port NAME selects a named port")
    return out


def is_dns_url(url: str) -> bool:
    return url.split("://", 1)[0].lower() in DNS_SCHEMES


def split_dns_url(url: str) -> tuple[str, str, int, str]:
    """``dns+http://api.ns.svc:8000/x`` -> (``http``, ``api.ns.svc``, 8000, ``/x``)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower().removeprefix("dns+")
    if scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"not a dns+http(s) URL: {url[:200]!r}",
                         advice="e.g. dns+http://api.default.svc.cluster.local:8000")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise UsageError(f"bad port in {url[:200]!r}") from None
    return scheme, parts.hostname, port, parts.path.rstrip("/")


def dns_targets(url: str, addresses: Iterable[Any]) -> list[Target]:
    """One :class:`Target` per distinct address (``getaddrinfo`` results or plain strings)."""
    scheme, name, port, path = split_dns_url(url)
    out: list[Target] = []
    seen: set[str] = set()
    for entry in addresses:
        address = entry[4][0] if isinstance(entry, tuple) else entry
        address = str(address).split("%", 1)[0]  # drop an IPv6 zone id
        target = Target(f"{scheme}://{_host(address)}:{port}{path}", f"{name} {address}")
        if target.url not in seen:
            seen.add(target.url)
            out.append(target)
        if len(out) >= MAX_TARGETS:
            break
    return out


async def resolve_dns_url(url: str) -> list[Target]:
    """Every A/AAAA record of the URL's name, through the system resolver."""
    import asyncio

    _, name, port, _ = split_dns_url(url)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            name, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise InputError(f"{name!r} does not resolve ({getattr(exc, 'strerror', None) or exc})",
                         where=url[:200]) from None
    return dns_targets(url, infos)
