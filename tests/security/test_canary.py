"""A canary secret never appears in any output, log record, exception, traceback or repr."""

from __future__ import annotations

import copy
import logging
import pickle
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

from keydrift import Keyring, TokenRejected, resolve
from keydrift.cli.main import main
from keydrift.errors import KeydriftError
from keydrift.keys import PreparedHMAC
from keydrift.report.interface import FORMATS


def _all_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc)


def test_resolved_secret_hides_value(canary: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    got = resolve(environment="staging", env={"JWT_SECRET_STAGING": canary})
    texts = [repr(got), str(got), repr(got.value), str(got.value), f"{got.value}",
             f"{got.value!r:>10}", "%s" % (got.value,), repr(got.provenance), str(vars(got))]
    for text in texts:
        assert canary not in text
    with pytest.raises(TypeError):
        pickle.dumps(got.value)
    with pytest.raises(TypeError):
        pickle.dumps(got)
    assert copy.deepcopy(got.value) is got.value
    logging.getLogger("keydrift").info("resolved %s %r", got, got.value)
    assert all(canary not in r.getMessage() for r in caplog.records)


def test_errors_never_contain_value(canary: str, tmp_path: Path,
                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    placeholder = "your-" + canary
    raised: list[BaseException] = []
    with pytest.raises(KeydriftError) as weak:
        resolve(environment="production", env={"JWT_SECRET": placeholder})
    raised.append(weak.value)
    (tmp_path / "f").write_text("other-" + canary)
    with pytest.raises(KeydriftError) as conflict:
        resolve(environment="staging", env={"JWT_SECRET": canary, "JWT_SECRET_FILE": str(tmp_path / "f")})
    raised.append(conflict.value)
    with pytest.raises(KeydriftError) as short:
        Keyring.from_secrets(canary[:20])
    raised.append(short.value)
    resolve(environment="development", env={"JWT_SECRET": placeholder})  # warns via logging
    for exc in raised:
        assert canary[:20] not in _all_text(exc)
    assert all(canary[:20] not in r.getMessage() for r in caplog.records)


def test_keyring_and_rejections_hide_value(canary: str) -> None:
    kr = Keyring.from_secrets(canary)
    other = Keyring.from_secrets("x" + canary)
    texts = [repr(kr), str(kr.keys_info()), repr(kr._keys), repr(PreparedHMAC(canary.encode()))]
    for token in (other.sign({"sub": canary[:5]}), kr.sign({}, ttl=-10), "a.b", "x" * 70000):
        with pytest.raises(TokenRejected) as info:
            kr.verify(token)
        texts.append(_all_text(info.value))
    with pytest.raises(TypeError):
        pickle.dumps(kr)
    for text in texts:
        assert canary not in text


def test_cli_output_hides_value(canary: str, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str],
                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("ENVIRONMENT", "staging")
    monkeypatch.setenv("JWT_SECRET_STAGING", canary)
    outputs = []
    for argv in (["fingerprint"], ["fingerprint", "--format", "json"]):
        assert main(argv) == 0
        outputs.append(capsys.readouterr())
    monkeypatch.setenv("JWT_SECRET_STAGING", "your-" + canary)
    assert main(["fingerprint"]) == 1
    outputs.append(capsys.readouterr())
    for out in outputs:
        assert canary not in out.out and canary not in out.err
    assert all(canary not in r.getMessage() for r in caplog.records)


def test_cli_subprocess_error_paths_hide_value(canary: str, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("other-" + canary)
    env = {"PATH": "/usr/bin:/bin", "ENVIRONMENT": "production", "JWT_SECRET": canary,
           "JWT_SECRET_FILE": str(tmp_path / "f"), "KEYDRIFT_DEBUG": "1"}
    proc = subprocess.run([sys.executable, "-m", "keydrift", "fingerprint"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "differ" in proc.stderr
    assert canary not in proc.stdout + proc.stderr


def test_metrics_and_fingerprint_endpoint_hide_value_and_weak_list_position(
        canary: str, caplog: pytest.LogCaptureFixture) -> None:
    import asyncio

    import httpx
    from prometheus_client import CollectorRegistry, generate_latest

    from keydrift.asgi import JWTAuthMiddleware
    from keydrift.metrics import KeydriftMetrics
    from tests.runtime.test_asgi_middleware import echo_app, lifespan
    from tests.runtime.test_fingerprint_public import weak_listed_secret

    caplog.set_level(logging.DEBUG)
    index, weak = weak_listed_secret()
    detail_token = "detail-" + canary  # a credential is a secret too
    registry = CollectorRegistry()
    # A weak listed secret accepted in development signs; the canary verifies (previous key).
    env = {"ENVIRONMENT": "development", "JWT_SECRET": weak, "JWT_SECRET_PREVIOUS": canary}
    app = JWTAuthMiddleware(echo_app, env=env, metrics=KeydriftMetrics(registry),
                            metrics_path="/metrics", detail_token=detail_token)
    asyncio.run(lifespan(app))
    other = Keyring.from_secrets("x" + canary)

    async def go() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t") as c:
            out = [await c.get("/me", headers={"Authorization": f"Bearer {tok}"})
                   for tok in (other.sign({"sub": "a"}), app.keyring.sign({"sub": "b"}), "x.y.z")]
            out.append(await c.get("/metrics"))
            out.append(await c.get("/.well-known/keydrift"))
            out.append(await c.get("/.well-known/keydrift",
                                   headers={"x-keydrift-detail-token": detail_token}))
            return out

    responses = asyncio.run(go())
    assert [r.status_code for r in responses] == [401, 200, 401, 200, 200, 200]
    metrics_text, public = responses[3].text, responses[4].text
    assert "keydrift_secret_weak" in metrics_text and 'kid="' in metrics_text
    exposition = generate_latest(registry).decode()
    for text in (metrics_text, exposition, public):
        assert canary not in text and weak not in text
        assert f"entry {index}" not in text and "jwt-secrets" not in text
        assert "warning" not in text.lower()
    for resp in responses:
        assert canary not in resp.text and weak not in resp.text and detail_token not in resp.text
        assert canary not in str(resp.headers)
    assert all(canary not in r.getMessage() and weak not in r.getMessage() for r in caplog.records)


# --- the sweep: every output format, every log level, every exception ---------------------------

def _canary_forms(canary: str) -> list[str]:
    """The canary and the encodings a report could leak it in."""
    import base64

    raw = canary.encode()
    return [canary, canary[8:32], base64.b64encode(raw).decode(),
            base64.urlsafe_b64encode(raw).rstrip(b"=").decode(), raw.hex()]


def _assert_clean(canary: str, *texts: str) -> None:
    forms = _canary_forms(canary)
    for text in texts:
        for form in forms:
            assert form not in text, f"canary leaked ({form[:12]}...)"


def _canary_tree(root: Path, canary: str) -> Path:
    """The canary written in every kind of file check reads, as a tracked git repository."""
    import base64

    b64 = base64.b64encode(canary.encode()).decode()
    files = {
        "production.env": f"ENVIRONMENT=production\nJWT_SECRET={canary}\n",
        "staging.env": f"JWT_SECRET={canary}\n",  # reused across environments: KD303
        ".env": f"JWT_SECRET=x{canary}\n",
        "docker-compose.yml": (
            "services:\n  api:\n    image: api\n    env_file: staging.env\n"
            "  worker:\n    image: worker\n    environment:\n"
            f"      JWT_SECRET: \"y{canary}\"\n      JWT_SECRET_FILE: /run/secrets/jwt\n"
            "    secrets: [jwt]\nsecrets:\n  jwt:\n    file: ./jwt.txt\n"
        ),
        "jwt.txt": f"{canary}\n\n",  # two newlines: readers disagree (KD501)
        "k8s/secret.yaml": (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: api\n  namespace: production\n"
            f"data:\n  JWT_SECRET: {b64}\n"
        ),
        "k8s/deploy.yaml": (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n"
            "  namespace: production\nspec:\n  replicas: 3\n  template:\n    spec:\n"
            "      containers:\n        - name: api\n          image: api\n          env:\n"
            "            - name: JWT_SECRET\n              valueFrom:\n"
            "                secretKeyRef: {name: api, key: JWT_SECRET}\n"
        ),
        "kustomize/kustomization.yaml": (
            f"secretGenerator:\n  - name: gen\n    literals:\n      - JWT_SECRET=z{canary}\n"
        ),
        "deploy/deploy_staging.sh": f"export JWT_SECRET_STAGING='{canary}'\n",
        "deploy/deploy_production.py": f'JWT_SECRET = "w{canary}"\n',
        "Dockerfile": f"FROM python\nENV JWT_SECRET={canary}\n",
        f"weird-{canary[:5]}/note.txt": "nothing\n",
    }
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q", str(root)], check=True)
    subprocess.run([*git, "-C", str(root), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(root), "commit", "-qm", "x"], check=True)
    return root


@pytest.mark.parametrize("fmt", FORMATS)  # every registered format, html too once it exists
def test_canary_never_in_any_check_format(canary: str, tmp_path: Path, fmt: str,
                                          capsys: pytest.CaptureFixture[str],
                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tree = _canary_tree(tmp_path / "repo", canary)
    code = main(["check", str(tree), "--format", fmt])
    out, err = capsys.readouterr()
    assert code == 1 and out  # findings were reported ...
    for rule in ("KD201", "KD303", "KD401", "KD402", "KD501"):
        assert rule in out, rule  # ... about the files that hold the canary
    written = tmp_path / f"report.{fmt}"
    assert main(["check", str(tree), "--format", fmt, "-o", str(written), "--color"]) == 1
    baseline = tmp_path / "baseline.json"
    assert main(["check", str(tree), "--write-baseline", str(baseline)]) == 0
    more = capsys.readouterr()
    _assert_clean(canary, out, err, more.out, more.err, written.read_text(),
                  baseline.read_text(), *(r.getMessage() for r in caplog.records))


def test_canary_never_in_explain(canary: str, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str],
                                 caplog: pytest.LogCaptureFixture,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.DEBUG)
    tree = _canary_tree(tmp_path / "repo", canary)
    monkeypatch.setenv("KD_EXPECTED", canary)
    signed = Keyring.from_secrets(canary).sign({"sub": "u"})
    other = Keyring.from_secrets("other-" + canary).sign({"sub": "u"}, ttl=-60)
    texts: list[str] = []
    for token in (signed, other):
        for fmt in ("text", "json"):
            code = main(["explain", token, str(tree), "--format", fmt,
                         "--secret-env", "KD_EXPECTED", "--no-process-env"])
            out, err = capsys.readouterr()
            assert code in (0, 1), err
            texts += [out, err]
    assert any("verified" in t.lower() for t in texts)  # the canary-signed token was found
    _assert_clean(canary, *texts, *(r.getMessage() for r in caplog.records))


def test_canary_never_in_logs_at_any_level_or_exceptions(
    canary: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Everything keydrift logs (INFO start-up, WARNING rejections and weak secrets, ERROR
    unusable keyrings) and every exception it raises on the canary, at DEBUG capture level."""
    import asyncio

    import httpx

    from keydrift.asgi import JWTAuthMiddleware
    from keydrift.errors import SecretEncodingError

    caplog.set_level(logging.DEBUG)  # root and every library logger, DEBUG through CRITICAL
    raised: list[BaseException] = []

    def expect(exc_type: type[BaseException], call: object) -> None:
        with pytest.raises(exc_type) as info:
            call()  # type: ignore[operator]
        raised.append(info.value)

    async def inner(scope: dict[str, object], receive: object, send: object) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]

    good = JWTAuthMiddleware(inner, env={"ENVIRONMENT": "staging", "JWT_SECRET": canary})
    broken = JWTAuthMiddleware(inner, env={"ENVIRONMENT": "production",
                                           "JWT_SECRET": "your-" + canary})
    keyring = Keyring.from_secrets(canary)
    forged = Keyring.from_secrets("x" + canary).sign({"sub": canary[:6]})

    async def requests() -> list[int]:
        statuses = []
        for app in (good, broken):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://t") as http:
                for token in (keyring.sign({}), forged, "a.b.c", None):
                    headers = {"authorization": f"Bearer {token}"} if token else {}
                    statuses.append((await http.get("/p", headers=headers)).status_code)
        return statuses

    statuses = asyncio.run(requests())
    assert statuses[0] == 200 and set(statuses[1:4]) == {401} and set(statuses[4:]) == {503}

    resolve(environment="development", env={"JWT_SECRET": "your-" + canary})  # a weak warning
    expect(KeydriftError, lambda: resolve(environment="production",
                                          env={"JWT_SECRET": "your-" + canary}))
    (tmp_path / "f").write_text("other-" + canary)
    expect(KeydriftError, lambda: resolve(environment="staging", env={
        "JWT_SECRET": canary, "JWT_SECRET_FILE": str(tmp_path / "f")}))
    expect(KeydriftError, lambda: resolve(environment="staging", env={}))
    expect(SecretEncodingError, lambda: resolve(environment="staging",
                                                env={"JWT_SECRET": canary + "\udcff"}))
    expect(KeydriftError, lambda: Keyring.from_secrets(canary[:20]))
    for token in (forged, keyring.sign({}, ttl=-10), keyring.sign({"exp": canary}),
                  keyring.sign({"exp": 10**400}), "x" * 70000, canary):
        expect(TokenRejected, lambda token=token: keyring.verify(token))

    levels = {r.levelno for r in caplog.records if r.name.startswith("keydrift")}
    assert {logging.INFO, logging.WARNING, logging.ERROR} <= levels, levels
    texts = [r.getMessage() for r in caplog.records]
    texts += [logging.Formatter().format(r) for r in caplog.records]
    for exc in raised:
        seen: BaseException | None = exc
        while seen is not None:
            texts += [_all_text(seen), repr(seen.args), repr(vars(seen))]
            seen = seen.__context__ or seen.__cause__
    _assert_clean(canary, *texts)


def test_check_reports_in_every_format_hide_value(canary: str, tmp_path: Path) -> None:
    """Every report format (html included), the --matrix grid and the suppressed list."""
    root = tmp_path / "repo"
    (root / "deploy").mkdir(parents=True)
    (root / "docker-compose.yml").write_text(
        "services:\n"
        "  api:\n    image: acme/api\n    env_file: staging.env\n"
        f"  auth:\n    image: acme/auth\n    environment:\n      JWT_SECRET_STAGING: x{canary}\n"
        f"  web:\n    image: acme/web\n    environment:\n"
        f"      JWT_SECRET_STAGING: your-{canary}  # keydrift: ignore[KD301]\n"
    )
    (root / "staging.env").write_text(f"JWT_SECRET_STAGING={canary}\n")
    (root / "deploy" / "run.sh").write_text(
        f"#!/bin/sh\n# keydrift: ignore[KD401]\nexport JWT_SECRET=short{canary[:3]}\nexec app\n")
    assert set(FORMATS) >= {"text", "json", "sarif", "html"}
    outputs = []
    for fmt in FORMATS:
        for extra in ([], ["--no-inline-ignore"]):
            proc = subprocess.run(
                [sys.executable, "-m", "keydrift", "check", str(root), "--format", fmt,
                 "--matrix", *extra], capture_output=True, text=True, timeout=120)
            assert proc.returncode == 1, proc.stderr
            outputs.append(proc.stdout + proc.stderr)
    html = outputs[2 * list(FORMATS).index("html")]
    assert "<table class=\"grid\"" in html and "JWT_SECRET_STAGING" in html
    for out in outputs:
        assert canary not in out
        assert canary[9:25] not in out
        assert f"short{canary[:3]}" not in out
