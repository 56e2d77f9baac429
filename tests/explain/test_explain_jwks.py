"""Issue 11: `explain --jwks` for RS/ES/PS/EdDSA tokens, through PyJWT's key set classes.

Keys are real (cryptography), tokens are signed by PyJWT, key sets are served by real uvicorn
servers on loopback, and thumbprints are checked against jwcrypto, an independent JOSE library.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwcrypto import jwk as jwcrypto_jwk  # type: ignore[import-untyped]

from keydrift.cli.main import main
from keydrift.errors import InputError
from keydrift.explain import Expectations, explain, render_text, to_json
from keydrift.explain.jwks import JWKS_ALGORITHMS, load_jwks
from keydrift.explain.schema import SCHEMA
from keydrift.keys import short
from tests.explain.explain_helpers import NOW
from tests.runtime.runtime_helpers import running

EXPECT = Expectations(algorithms=JWKS_ALGORITHMS)


def _jwk(private: Any, kid: str | None, alg: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(jwt.algorithms.get_default_algorithms()[
        "RS256" if isinstance(private, rsa.RSAPrivateKey) else
        "ES256" if isinstance(private, ec.EllipticCurvePrivateKey) else "EdDSA"
    ].to_jwk(private.public_key()))
    if kid is not None:
        data["kid"] = kid
    if alg is not None:
        data["alg"] = alg
    return data


def _write(path: Path, *keys: dict[str, Any]) -> str:
    path.write_text(json.dumps({"keys": list(keys)}))
    return str(path)


def _token(private: Any, alg: str, kid: str | None) -> str:
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode({"sub": "alice", "exp": NOW + 600, "iat": NOW - 10}, private,
                      algorithm=alg, headers=headers)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _explain(token: str, *paths: str) -> Any:
    sets = [load_jwks(p) for p in paths]
    return explain(token, [], expectations=EXPECT, now=NOW, jwks=sets)


def test_kid_found_and_signature_verifies(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    keys = _write(tmp_path / "jwks.json", _jwk(rsa_key, "k1"))
    e = _explain(_token(rsa_key, "RS256", "k1"), keys)
    assert (e.verdict.status, e.verdict.exit_code) == ("verified", 0)
    assert e.jwks is not None and e.jwks.status == "verified"
    assert e.jwks.key is not None and e.jwks.key.kid == "k1"
    doc = to_json(e)
    jsonschema.validate(doc, SCHEMA)
    assert doc["jwks"]["key"]["thumbprint"] == short(e.jwks.key.thumbprint)


@pytest.mark.parametrize("kind", ["rsa", "ec", "okp"])
def test_thumbprints_are_rfc7638_as_jwcrypto_computes_them(tmp_path: Path, kind: str) -> None:
    private: Any = {"rsa": lambda: rsa.generate_private_key(public_exponent=65537,
                                                           key_size=2048),
                    "ec": lambda: ec.generate_private_key(ec.SECP256R1()),
                    "okp": ed25519.Ed25519PrivateKey.generate}[kind]()
    data = _jwk(private, "x")
    [info] = load_jwks(_write(tmp_path / "k.json", data)).keys
    assert info.thumbprint == jwcrypto_jwk.JWK(**data).thumbprint()


def test_kid_missing(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    keys = _write(tmp_path / "jwks.json", _jwk(rsa_key, "k2"))
    e = _explain(_token(rsa_key, "RS256", "k1"), keys)
    assert (e.verdict.status, e.verdict.reason) == ("rejected", "unknown_kid")
    assert "'k1' is not in" in e.verdict.summary and "'k2'" in e.verdict.summary
    assert e.jwks is not None and e.jwks.rotated_out is None


def test_kid_rotated_out_is_found_in_the_older_key_set(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, other_rsa: rsa.RSAPrivateKey
) -> None:
    old = _write(tmp_path / "old.json", _jwk(rsa_key, "2024-01"))
    current = _write(tmp_path / "jwks.json", _jwk(other_rsa, "2024-07"))
    e = _explain(_token(rsa_key, "RS256", "2024-01"), current, old)
    assert e.verdict.reason == "unknown_kid"
    assert e.jwks is not None and e.jwks.rotated_out is not None
    assert e.jwks.rotated_out.label == old and e.jwks.rotated_key_verifies is True
    assert "rotated out" in e.verdict.summary
    assert e.verdict.advice is not None and "keep a retired key published" in e.verdict.advice
    assert to_json(e)["jwks"]["rotated_out_of"] == old


def test_same_kid_other_key_is_a_signature_failure(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, other_rsa: rsa.RSAPrivateKey
) -> None:
    keys = _write(tmp_path / "jwks.json", _jwk(other_rsa, "k1"))
    e = _explain(_token(rsa_key, "RS256", "k1"), keys)
    assert (e.verdict.status, e.verdict.reason) == ("rejected", "signature")
    assert "does not verify the signature" in e.verdict.summary


@pytest.mark.parametrize(("jwk_alg", "token_alg"), [(None, "ES256"), ("RS256", "RS512")])
def test_algorithm_mismatch(tmp_path: Path, rsa_key: rsa.RSAPrivateKey, jwk_alg: str | None,
                            token_alg: str) -> None:
    signer: Any = ec.generate_private_key(ec.SECP256R1()) if token_alg == "ES256" else rsa_key
    keys = _write(tmp_path / "jwks.json", _jwk(rsa_key, "k1", jwk_alg))
    e = _explain(_token(signer, token_alg, "k1"), keys)
    assert (e.verdict.status, e.verdict.reason) == ("rejected", "algorithm")
    assert f"alg {token_alg} cannot be verified" in e.verdict.summary


def test_token_without_kid_tries_every_capable_key(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, other_rsa: rsa.RSAPrivateKey
) -> None:
    keys = _write(tmp_path / "jwks.json", _jwk(other_rsa, "a"), _jwk(rsa_key, "b"),
                  _jwk(ec.generate_private_key(ec.SECP256R1()), "c"))
    e = _explain(_token(rsa_key, "RS256", None), keys)
    assert e.verdict.status == "verified"
    assert e.jwks is not None and e.jwks.key is not None and e.jwks.key.kid == "b"


def test_expired_token_verified_by_the_key_set_is_rejected_for_its_claims(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    keys = _write(tmp_path / "jwks.json", _jwk(rsa_key, "k1"))
    token = jwt.encode({"sub": "a", "exp": NOW - 3600}, rsa_key, algorithm="RS256",
                       headers={"kid": "k1"})
    e = _explain(token, keys)
    assert (e.verdict.status, e.verdict.reason) == ("rejected", "expired")


def test_hostile_kids_are_escaped(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    keys = _write(tmp_path / "jwks.json", _jwk(rsa_key, "k\x1b]0;pwned\x07\nOK: fake"))
    e = _explain(_token(rsa_key, "RS256", "\x1b[2Jzz\u202e"), keys)
    text = render_text(e)
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\nOK: fake" not in text


def test_bad_key_sets_are_input_errors(tmp_path: Path) -> None:
    for body in ("not json", json.dumps({"keys": []}), json.dumps([1, 2]),
                 json.dumps({"keys": [{"kty": "nope"}]}), "[" * 100_000):
        path = tmp_path / "bad.json"
        path.write_text(body)
        with pytest.raises(InputError):
            load_jwks(str(path))


def test_cli_jwks_file_and_exit_codes(tmp_path: Path, rsa_key: rsa.RSAPrivateKey,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    keys = _write(tmp_path / "jwks.json", _jwk(rsa_key, "k1"))
    args = ["--now", str(NOW), "--no-process-env", "--jwks", keys]
    assert main(["explain", _token(rsa_key, "RS256", "k1"), *args]) == 0
    assert capsys.readouterr().out.startswith("VERIFIED: signed with RSA key (kid 'k1'")
    assert main(["explain", _token(rsa_key, "RS256", "zz"), *args, "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["verdict"]["reason"] == "unknown_kid"
    assert main(["explain", "x.y.z", "--old-jwks", keys]) == 2
    assert main(["explain", "x.y.z", "--jwks", str(tmp_path / "absent.json")]) == 2


# --- key sets over HTTP: real uvicorn on loopback --------------------------------------------


def _serving(body: bytes, *, status: int = 200, drip: float | None = None,
             headers: list[tuple[bytes, bytes]] | None = None) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": status,
                    "headers": headers or [(b"content-type", b"application/json")]})
        if drip is None:
            await send({"type": "http.response.body", "body": body})
            return
        # One byte at a time, each within any per-read timeout: only a total deadline ends it.
        # The server stops dripping after 3 s on its own, so it always shuts down.
        stop = time.monotonic() + 3
        for i in range(len(body)):
            if time.monotonic() > stop:
                break
            await send({"type": "http.response.body", "body": body[i:i + 1], "more_body": True})
            await asyncio.sleep(drip)
        await send({"type": "http.response.body", "body": b""})

    return app


def test_jwks_url_from_a_real_server(rsa_key: rsa.RSAPrivateKey) -> None:
    body = json.dumps({"keys": [_jwk(rsa_key, "k1")]}).encode()
    with running(_serving(body)) as base:
        url = base + "/.well-known/jwks.json"
        e = explain(_token(rsa_key, "RS256", "k1"), [], expectations=EXPECT, now=NOW,
                    jwks=[load_jwks(url)])
    assert e.verdict.status == "verified"
    assert e.jwks is not None and e.jwks.current.label == url


def test_jwks_url_size_is_capped() -> None:
    huge = b'{"keys": [' + b" " * (3 * 1024 * 1024) + b"]}"
    with running(_serving(huge)) as base, pytest.raises(InputError) as exc:
        load_jwks(base + "/jwks.json")
    assert "larger than" in exc.value.message


def test_jwks_url_slow_drip_is_bounded_by_the_total_timeout() -> None:
    body = json.dumps({"keys": [{"kty": "oct", "k": "AAAA", "kid": "x" * 40}]}).encode()
    with running(_serving(body, drip=0.2)) as base:
        start = time.monotonic()
        with pytest.raises(InputError) as exc:
            load_jwks(base + "/jwks.json", timeout=1.0)
        elapsed = time.monotonic() - start
    # The body would take len(body) * 0.2 s (over 10 s) to arrive; the fetch gives up at the
    # deadline plus at most one more socket wait.
    assert elapsed < 2.5, elapsed
    assert "within 1s" in exc.value.message


def test_jwks_url_redirect_is_not_followed(rsa_key: rsa.RSAPrivateKey) -> None:
    with running(_serving(b"", status=302, headers=[(b"location", b"http://127.0.0.1:1/")])) \
            as base, pytest.raises(InputError) as exc:
        load_jwks(base + "/jwks.json")
    assert "HTTP 302" in exc.value.message
