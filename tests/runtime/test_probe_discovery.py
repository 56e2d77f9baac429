"""Issue 11: probe a fleet without listing URLs by hand.

``--endpoints``: EndpointSlice and Endpoints JSON in the API's shape (as `kubectl ... -o json`
prints it), with ready and not-ready addresses and several named ports; each ready address gets a
real uvicorn server on its own loopback address (127.0.0.0/8), all on one port number, as pods
behind a Service are.

``dns+http://``: a name that resolves to several loopback addresses. The system resolver reads
``/etc/hosts``; the test gives the probe its own ``/etc/hosts`` through a bind mount in a private
mount namespace (``unshare -m``), so the machine's file is never touched and the resolver used is
the real one (glibc ``getaddrinfo``). Where mount namespaces are not permitted that test is
skipped, and ``localhost`` (every address this machine gives it) is probed instead by the test
that always runs.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from keydrift.cli.main import main
from keydrift.errors import InputError, UsageError
from keydrift.runtime.discovery import dns_targets, endpoints_targets
from keydrift.runtime.probe import run_probe
from tests.runtime.probe_servers import common_port, doc_app, fingerprint_doc, serve
from tests.runtime.runtime_helpers import validate

PROBE_SCHEMA = "probe-output-v1.json"
READY = ["127.0.0.2", "127.0.0.3"]


@contextlib.contextmanager
def pods(hosts: list[str], port: int | None = None) -> Iterator[int]:
    port = port or common_port(hosts)
    with contextlib.ExitStack() as stack:
        for host in hosts:
            doc = fingerprint_doc(f"pod-{host}", siblings=[f"pod-{host}"])
            stack.enter_context(serve(doc_app(doc), host=host, port=port))
        yield port


def endpoint_slice_list(port: int) -> dict[str, Any]:
    """What `kubectl get endpointslices -l kubernetes.io/service-name=api -o json` prints."""
    def endpoint(ip: str, pod: str, ready: bool | None) -> dict[str, Any]:
        conditions = {} if ready is None else {"ready": ready, "serving": ready,
                                               "terminating": not ready}
        return {"addresses": [ip], "conditions": conditions, "nodeName": "node-1",
                "targetRef": {"kind": "Pod", "name": pod, "namespace": "default",
                              "uid": "0b5c-" + pod}}

    return {
        "apiVersion": "v1",
        "items": [{
            "addressType": "IPv4",
            "apiVersion": "discovery.k8s.io/v1",
            "endpoints": [endpoint("127.0.0.2", "api-7f9c-a", True),
                          endpoint("127.0.0.3", "api-7f9c-b", None),  # nil: ready
                          endpoint("127.0.0.4", "api-7f9c-c", False)],  # not ready: skipped
            "kind": "EndpointSlice",
            "metadata": {"generateName": "api-", "name": "api-x7k2p", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": "api",
                                    "endpointslice.kubernetes.io/managed-by":
                                        "endpointslice-controller.k8s.io"}},
            "ports": [{"name": "http", "port": port, "protocol": "TCP"},
                      {"name": "metrics", "port": 9, "protocol": "TCP"}],
        }],
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    }


def endpoints_object(port: int) -> dict[str, Any]:
    """What `kubectl get endpoints api -o json` prints."""
    return {
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "api", "namespace": "default"},
        "subsets": [{
            "addresses": [{"ip": "127.0.0.2", "targetRef": {"kind": "Pod", "name": "api-a"}},
                          {"ip": "127.0.0.3", "targetRef": {"kind": "Pod", "name": "api-b"}}],
            "notReadyAddresses": [{"ip": "127.0.0.4", "targetRef": {"kind": "Pod",
                                                                      "name": "api-c"}}],
            "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
        }],
    }


def test_endpoint_slice_ready_addresses_on_the_named_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pods(READY) as port:
        path = tmp_path / "slices.json"
        path.write_text(json.dumps(endpoint_slice_list(port)))
        code = main(["probe", "--endpoints", str(path), "--port", "http", "--format", "json"])
        doc = validate(json.loads(capsys.readouterr().out), PROBE_SCHEMA)
    assert code == 0, doc["problems"]
    assert [(u["url"], u["label"]) for u in doc["urls"]] == [
        (f"http://127.0.0.2:{port}", "pod api-7f9c-a"),
        (f"http://127.0.0.3:{port}", "pod api-7f9c-b")]
    assert sorted(i["instance_id"] for i in doc["instances"]) == [
        "pod-127.0.0.2", "pod-127.0.0.3"]


def test_endpoints_object_from_stdin(monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    import io

    with pods(READY) as port:
        stdin = io.TextIOWrapper(io.BytesIO(json.dumps(endpoints_object(port)).encode()))
        monkeypatch.setattr("sys.stdin", stdin)
        code = main(["probe", "--endpoints", "-", "--format", "json"])
        doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [u["label"] for u in doc["urls"]] == ["pod api-a", "pod api-b"]


def test_endpoint_list_errors_are_exit_2(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "e.json"
    path.write_text(json.dumps(endpoint_slice_list(8000)))
    assert main(["probe", "--endpoints", str(path)]) == 2  # two ports, none chosen
    assert "--port NAME" in capsys.readouterr().err
    assert main(["probe", "--endpoints", str(path), "--port", "grpc"]) == 2
    assert "no ready address on port grpc" in capsys.readouterr().err
    path.write_text("{not json")
    assert main(["probe", "--endpoints", str(path)]) == 2
    path.write_text("[" * 100_000)
    assert main(["probe", "--endpoints", str(path)]) == 2
    assert main(["probe", "--endpoints", str(tmp_path / "absent")]) == 2
    assert main(["probe", "--port", "http", "http://127.0.0.1:1"]) == 2


def test_endpoint_parsing_units() -> None:
    data = json.dumps(endpoint_slice_list(8000)).encode()
    assert [t.url for t in endpoints_targets(data, port="8000")] == [
        "http://127.0.0.2:8000", "http://127.0.0.3:8000"]
    v6 = {"kind": "EndpointSlice", "addressType": "IPv6", "metadata": {"name": "x"},
          "ports": [{"port": 80}], "endpoints": [{"addresses": ["fd00::1"]}]}
    assert [t.url for t in endpoints_targets(json.dumps(v6).encode())] == ["http://[fd00::1]:80"]
    fqdn = {**v6, "addressType": "FQDN", "endpoints": [{"addresses": ["a.example"]}]}
    with pytest.raises(InputError):
        endpoints_targets(json.dumps(fqdn).encode())
    bad_ip = {**v6, "endpoints": [{"addresses": ["1.2.3.4\n::error::x"]}]}
    with pytest.raises(InputError):
        endpoints_targets(json.dumps(bad_ip).encode())
    with pytest.raises(UsageError):
        endpoints_targets(data, scheme="ftp")


def test_dns_targets_one_per_distinct_address() -> None:
    infos = socket.getaddrinfo("127.0.0.1", 80, type=socket.SOCK_STREAM)
    assert [t.url for t in dns_targets("dns+http://name:8080/", ["10.0.0.1", "10.0.0.1",
                                                                 "fe80::1%eth0", *infos])] == [
        "http://10.0.0.1:8080", "http://[fe80::1]:8080", "http://127.0.0.1:8080"]


def test_dns_http_localhost_probes_every_address_the_resolver_gives() -> None:
    addresses = sorted({info[4][0] for info in socket.getaddrinfo(
        "localhost", 80, type=socket.SOCK_STREAM)})
    with pods(addresses) as port:
        result = run_probe([f"dns+http://localhost:{port}"], samples=1)
    shown = [f"[{a}]" if ":" in a else a for a in addresses]
    assert sorted(u.url for u in result.urls) == sorted(f"http://{a}:{port}" for a in shown)
    assert sorted(i.instance_id for i in result.instances) == sorted(
        f"pod-{a}" for a in addresses)
    assert all(u.label == f"localhost {u.url.split('//')[1].rsplit(':', 1)[0].strip('[]')}"
               for u in result.urls)
    assert result.exit_code == 0


def test_dns_name_that_does_not_resolve_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "dns+http://no-such-name.invalid:8000"]) == 2
    assert "does not resolve" in capsys.readouterr().err


def _can_unshare() -> bool:
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount --bind /dev/null /dev/null"],
                           capture_output=True, timeout=10, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_unshare(), reason="mount namespaces (unshare -m) not permitted")
def test_dns_http_name_with_several_loopback_addresses(tmp_path: Path) -> None:
    hosts = ["127.0.0.2", "127.0.0.3", "::1"]
    with pods(hosts) as port:
        hosts_file = tmp_path / "hosts"
        hosts_file.write_text("127.0.0.1 localhost\n" + "".join(
            f"{h} fleet.test\n" for h in hosts))
        script = 'mount --bind "$0" /etc/hosts && exec "$@"'
        proc = subprocess.run(
            ["unshare", "-m", "sh", "-c", script, str(hosts_file), sys.executable, "-m",
             "keydrift", "probe", f"dns+http://fleet.test:{port}/", "-n", "1", "--format",
             "json"],
            capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    doc = validate(json.loads(proc.stdout), PROBE_SCHEMA)
    assert sorted(u["label"] for u in doc["urls"]) == sorted(
        f"fleet.test {h}" for h in hosts)
    assert sorted(i["instance_id"] for i in doc["instances"]) == sorted(
        f"pod-{h}" for h in hosts)
    # The machine's own /etc/hosts never learned the name.
    assert "fleet.test" not in Path("/etc/hosts").read_text()
