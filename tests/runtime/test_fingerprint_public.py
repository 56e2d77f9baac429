"""The public fingerprint endpoint says only what the probe needs (issue 12, item 1).

A weak secret accepted outside production used to be published as "entry N of the public
jwt-secrets list" by an unauthenticated GET: the index is the secret, since the list ships with
keydrift. Now the public document holds kids and opaque ids; hostname, pid, environment,
variable and warnings need a separate detail token.
"""

from __future__ import annotations

import os
import re
import socket
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette._utils import get_route_path

from keydrift.asgi import JWTAuthMiddleware, instance_id
from keydrift.errors import UsageError
from keydrift.keyring import Keyring
from keydrift.runtime.asgi import opaque_id, relative_path, sibling_ids, sibling_pids
from keydrift.strength import known_weak_entries, known_weak_index
from tests.runtime.runtime_helpers import SECRET_A, running, validate
from tests.runtime.test_asgi_middleware import echo_app

DETAIL = "operator-detail-token-" + "7" * 30
PUBLIC_FIELDS = {"schema_version", "instance_id", "algorithm", "signing_kid",
                 "verification_kids", "siblings"}


def weak_listed_secret() -> tuple[int, str]:
    """A secret from the shipped known-weak list, long enough for HS256 (so only the list
    makes it weak), and its 1-based entry number."""
    for entry in known_weak_entries():
        text = entry.decode("ascii", errors="ignore")
        if len(entry) >= 32 and text.isprintable() and text.encode() == entry:
            index = known_weak_index(text)
            assert index is not None
            return index, text
    raise AssertionError("no usable entry in the known-weak list")


def test_weak_secret_in_development_public_endpoint_shows_no_warning_index_variable_or_pid() -> None:
    index, weak = weak_listed_secret()
    env = {"ENVIRONMENT": "development", "JWT_SECRET": weak}
    # Even with a detail token configured, an unauthenticated GET gets the public part only.
    app = JWTAuthMiddleware(echo_app, env=env, detail_token=DETAIL, service_name="billing")
    with running(app) as url:
        public = httpx.get(url + "/.well-known/keydrift", timeout=5)
        detailed = httpx.get(url + "/.well-known/keydrift",
                             headers={"x-keydrift-detail-token": DETAIL}, timeout=5)
        other = httpx.get(url + "/anything", timeout=5)
    assert public.status_code == 200
    doc = validate(public.json(), "fingerprint-endpoint-v2.json")
    assert set(doc) == PUBLIC_FIELDS
    text = public.text
    for leak in (f"entry {index}", "jwt-secrets", "JWT_SECRET", "development", "billing",
                 socket.gethostname(), "warning", "weak", weak):
        assert leak not in text, leak
    assert not re.search(rf"\b{os.getpid()}\b", text)
    assert doc["instance_id"] == instance_id()
    assert "x-keydrift-instance" not in public.headers and "x-keydrift-instance" not in other.headers
    # The warning exists, for the holder of the detail token (so the assertions above can fail).
    detail = validate(detailed.json(), "fingerprint-endpoint-v2.json")["detail"]
    assert detail["key_warnings"] and detail["environment"] == "development"
    assert detail["key_source"] == {"kind": "env", "variable": "JWT_SECRET"}
    assert detail["pid"] == os.getpid()
    assert weak not in detailed.text


def test_detail_token_must_be_long_and_not_a_signing_key() -> None:
    with pytest.raises(UsageError, match="at least 32"):
        JWTAuthMiddleware(echo_app, keyring=Keyring.from_secrets(SECRET_A), detail_token="short")
    with pytest.raises(UsageError, match="one of the signing keys"):
        JWTAuthMiddleware(echo_app, keyring=Keyring.from_secrets(SECRET_A), detail_token=SECRET_A)
    # From the environment too, and refused at start-up when the keyring is resolved then.
    app = JWTAuthMiddleware(echo_app, env={"JWT_SECRET": SECRET_A, "KEYDRIFT_DETAIL_TOKEN": SECRET_A})
    import asyncio

    from tests.runtime.test_asgi_middleware import lifespan

    sent = asyncio.run(lifespan(app))
    assert sent[0]["type"] == "lifespan.startup.failed"
    assert "detail token" in sent[0]["message"] and SECRET_A not in sent[0]["message"]


def test_opaque_ids_name_processes_without_their_pid() -> None:
    mine = opaque_id(os.getpid())
    assert mine == instance_id() and re.fullmatch(r"[0-9a-f]{24}", mine)
    assert str(os.getpid()) not in mine
    assert opaque_id(1) != mine  # another process, another id
    assert opaque_id(2**22 + 12345) is None  # no such process
    # Siblings are derived from the same pids the detail part lists.
    assert sibling_ids() == sorted({i for i in (opaque_id(p) for p in sibling_pids()) if i})


@given(root=st.sampled_from(["", "/api", "/api/v1", "/a"]),
       path=st.text(alphabet="/apiv1x.", max_size=12))
def test_relative_path_matches_starlette_get_route_path(root: str, path: str) -> None:
    scope: dict[str, Any] = {"type": "http", "path": path, "root_path": root}
    assert relative_path(scope) == get_route_path(scope)
    scope = {"type": "http", "path": root + path, "root_path": root}
    assert relative_path(scope) == get_route_path(scope)
