"""Fuzz the check readers. Run: ``python bench/fuzz_check.py [COUNT] [SEED]``.

Generates COUNT inputs (default 120,000) for the seven readers of ``keydrift check`` (dotenv,
compose, kubernetes, kustomize, python, shell, dockerfile): mutated seed documents (flipped,
inserted and deleted characters, shuffled, duplicated and cut lines, hostile tokens such as
``${``, YAML anchors and merge keys, quotes, NUL, CR, bidi controls), random bytes, deep nesting,
long lines and grammar-shaped documents. The files a document refers to (``.env``, ``env_file``,
secret files, kustomize ``envs``/``files``) are fuzzed too and served through the reader's
``read_text``.

Each input goes through the pipeline's own gates (``check_bytes``, UTF-8 decoding, ``wants``)
and then ``Source.read``. Allowed outcomes are a result or the documented skip path:
:class:`~keydrift.sources.interface.UnreadableFile` (a one-line reason) or ``RecursionError``
(which the pipeline turns into a "nested too deeply" skip). Anything else is an escape. Every
50th input also runs the whole pipeline (walk, read, link, evaluate, every rule, text/JSON/SARIF
rendering) on a temporary tree holding the document and its companions; there nothing may
escape at all. A watchdog interrupts an input that takes more than a minute (a hang is a
failure too); inputs slower than two seconds are listed, not failed: CPU bounds per file are
the performance work's. Prints the count, escapes, hangs, slow inputs, time and the slowest
input; exits non-zero on any escape or hang.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from keydrift.check import run_check
from keydrift.check.build import preset_specs
from keydrift.check.discovery import FileReader, check_bytes
from keydrift.model.config import Config
from keydrift.model.names import NameClassifier
from keydrift.report.interface import render
from keydrift.sources.interface import ReadContext, Source, UnreadableFile, all_sources

PER_INPUT_SECONDS = 60.0  # a hang: the input is interrupted and counted as a failure
SLOW_SECONDS = 2.0  # reported (CPU bounds are the performance work's), not a failure
PIPELINE_EVERY = 50

# What a hostile or broken file puts where a parser does not expect it.
NASTY = [
    "${", "}", "${A:-${B:-${C}}}", "$$", "$", ":-", ":?", "'", '"', "\\", "\n", "\r", "\r\n", "\t",
    "\x00", "\x1b[31m", "\u202e", "\u2028", "\ufeff", "é", "#", "=", ": ", "- ", "&a", "*a",
    "<<: *a", "!!python/object:os.system", "!!binary", "{", "[", "]", "---\n", "...\n", "|\n",
    ">-\n", "? ", "%YAML 1.1\n", "export ", "ENV ", "ARG ", "RUN ", "\\\n", "<<EOF\n", "EOF\n",
    "`", "$(", ")", "os.environ[", "os.getenv(", "f'{", "\"\"\"", "JWT_SECRET", "JWT_SECRET_FILE",
    "SECRET_KEY", "envFrom", "secretKeyRef", "valueFrom", "stringData", "data", "base64",
    "9" * 400, "-1", "0x", "1e999", "null", "~", "true", "yes", "on",
]

SEEDS: dict[str, list[str]] = {
    "dotenv": [
        "ENVIRONMENT=staging\nJWT_SECRET=kD8vQ2mZ7xR4tN9pL3wS6yB1cF5hJ0gU2eV8aK4n\n",
        "# comment\nexport JWT_SECRET_STAGING='quoted value with $dollar'\nOTHER=\"a\\nb\"\n",
        "JWT_SECRET=${BASE:-fallback}\nBASE=abc\nJWT_SECRET_FILE=secrets/jwt.txt\nEMPTY=\n",
        'MULTI="line one\nline two"\nKEY = spaced \nJWT_SECRET_PREVIOUS=old-one-0123456789\n',
    ],
    "compose": [
        "services:\n  api:\n    image: langflowai/langflow\n    deploy: {replicas: 3}\n"
        "    env_file: [.env, web.env]\n    environment:\n      JWT_SECRET: ${JWT_SECRET:-dev}\n"
        "      WEB_CONCURRENCY: '4'\n    secrets: [jwt]\n"
        "  worker:\n    extends: {service: api}\n    environment: [JWT_SECRET=other]\n"
        "secrets:\n  jwt:\n    file: ./secrets/jwt.txt\n  env:\n    environment: JWT_SECRET\n",
        "x-common: &common\n  environment:\n    SECRET_KEY: abc\nservices:\n  a:\n    <<: *common\n"
        "    image: apache/superset\n    command: gunicorn -w 4 app\n  b:\n    <<: *common\n"
        "include:\n  - other.yml\n",
    ],
    "kubernetes": [
        "apiVersion: v1\nkind: Secret\nmetadata: {name: api, namespace: production}\n"
        "data:\n  JWT_SECRET: a0Q4dlEybVo3eFI0dE45cEwzd1M2eUIxY0Y1aEowZ1U=\n"
        "stringData:\n  OTHER: plain\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: production}\n"
        "spec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n        - name: api\n"
        "          image: api\n          args: [--workers, '4']\n          env:\n"
        "            - name: JWT_SECRET\n              valueFrom:\n"
        "                secretKeyRef: {name: api, key: JWT_SECRET}\n"
        "          envFrom:\n            - secretRef: {name: api}\n              prefix: APP_\n"
        "          volumeMounts: [{name: s, mountPath: /run/secrets}]\n"
        "      volumes: [{name: s, secret: {secretName: api}}]\n",
        "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n"
        "    metadata: {name: cfg}\n    data: {ENVIRONMENT: staging}\n"
        "  - apiVersion: autoscaling/v2\n    kind: HorizontalPodAutoscaler\n"
        "    metadata: {name: hpa}\n    spec: {scaleTargetRef: {name: api}, maxReplicas: 9}\n",
    ],
    "kustomize": [
        "resources: [../../base]\nnamespace: production\nsecretGenerator:\n  - name: api\n"
        "    literals:\n      - JWT_SECRET=kD8vQ2mZ7xR4tN9pL3wS6yB1cF5hJ0gU2eV8aK4n\n"
        "    envs: [secrets.env]\n    files:\n      - JWT_SECRET_FILE=jwt.txt\n      - key.pem\n"
        "configMapGenerator:\n  - name: cfg\n    env: config.env\n",
    ],
    "python": [
        "import os\nJWT_SECRET = os.environ.get('JWT_SECRET', 'dev-default-0123456789abcdef')\n"
        "SECRET_KEY = 'kD8vQ2mZ7xR4tN9pL3wS6yB1cF5hJ0gU2eV8aK4n'\n"
        "def deploy():\n    env = {'JWT_SECRET_STAGING': 'your-secure-jwt-secret-key-staging'}\n"
        "    subprocess.run(['gcloud', 'run', 'deploy', 'api', '--set-env-vars',\n"
        "                    f'JWT_SECRET={env[\"JWT_SECRET_STAGING\"]}'])\n",
        "settings = dict(jwt_secret=\"abc\" \"def\", token=b'xyz')\nos.environ['API_TOKEN'] = x\n",
    ],
    "shell": [
        "#!/bin/sh\nset -e\nexport JWT_SECRET_STAGING='your-secure-jwt-secret-key-staging'\n"
        "JWT_SECRET=\"${JWT_SECRET:-fallback}\" docker run -e JWT_SECRET -e OTHER=1 api\n"
        "gcloud run deploy api --set-env-vars JWT_SECRET=$JWT_SECRET,ENVIRONMENT=staging\n"
        "kubectl create secret generic api --from-literal=JWT_SECRET=abc --from-env-file=x.env\n"
        "cat <<EOF > .env\nJWT_SECRET=heredoc-value-0123456789\nEOF\n",
    ],
    "dockerfile": [
        "FROM python:3.11 AS base\nARG JWT_SECRET=build-arg-value\nENV JWT_SECRET=$JWT_SECRET \\\n"
        "    OTHER=1\nENV SECRET_KEY kD8vQ2mZ7xR4tN9pL3wS6yB1cF5hJ0gU2eV8aK4n\n"
        "RUN echo $JWT_SECRET > /run/secret\nCMD [\"gunicorn\", \"-w\", \"4\"]\n",
    ],
}

PATHS = {
    "dotenv": ["staging.env", ".env", ".env.production", "config/prod.env", ".env.example"],
    "compose": ["docker-compose.yml", "compose.yaml", "docker-compose.prod.yml"],
    "kubernetes": ["k8s/deployment.yaml", "overlays/staging/secret.yaml", "manifests/api.yml"],
    "kustomize": ["overlays/production/kustomization.yaml", "kustomization.yml"],
    "python": ["deploy/deploy_staging.py", "app/settings.py", "scripts/release.py"],
    "shell": ["deploy/deploy_staging.sh", "release.sh", "scripts/run.bash"],
    "dockerfile": ["Dockerfile", "docker/Dockerfile.prod"],
}

# Files the documents above refer to; served by read_text and written in pipeline runs.
COMPANIONS = {
    ".env": "JWT_SECRET=from-dotenv-0123456789abcdefghij\nENVIRONMENT=production\n",
    "web.env": "JWT_SECRET='quoted-0123456789abcdefghijkl'\nWEB_CONCURRENCY=2\n",
    "secrets/jwt.txt": "kD8vQ2mZ7xR4tN9pL3wS6yB1cF5hJ0gU2eV8aK4n\n",
    "other.yml": "services:\n  c:\n    image: c\n    environment: {JWT_SECRET: c-value-012345}\n",
    "secrets.env": "JWT_SECRET=\"kustomize-quoted\"\nA=B\n",
    "config.env": "ENVIRONMENT=production\n",
    "jwt.txt": "file-value-0123456789abcdefghijklmno\n\n",
    "key.pem": "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n",
}


class Hang(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise Hang


def mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randrange(1, 6)):
        op = rng.randrange(9)
        pos = rng.randrange(len(chars) + 1)
        if op == 0 and chars:
            chars[min(pos, len(chars) - 1)] = chr(rng.choice([rng.randrange(32, 127),
                                                              rng.randrange(0x30000)]))
        elif op in (1, 2):
            chars[pos:pos] = list(rng.choice(NASTY))
        elif op == 3 and chars:
            del chars[min(pos, len(chars) - 1): min(pos + rng.randrange(1, 20), len(chars))]
        elif op == 4:
            lines = "".join(chars).split("\n")
            rng.shuffle(lines)
            chars = list("\n".join(lines))
        elif op == 5:
            lines = "".join(chars).split("\n")
            if lines:
                i = rng.randrange(len(lines))
                lines[i:i] = [lines[i]] * rng.randrange(1, 50)
            chars = list("\n".join(lines))
        elif op == 6:
            chars = chars[: rng.randrange(len(chars) + 1)]
        elif op == 7:  # re-indent a line: YAML structure changes
            lines = "".join(chars).split("\n")
            if lines:
                i = rng.randrange(len(lines))
                lines[i] = " " * rng.randrange(12) + lines[i].lstrip()
            chars = list("\n".join(lines))
        else:  # a value replaced by another seed's fragment
            other = rng.choice([s for seeds in SEEDS.values() for s in seeds])
            start = rng.randrange(len(other))
            chars[pos:pos] = list(other[start: start + rng.randrange(1, 80)])
    return "".join(chars)


def deep(rng: random.Random, kind: str) -> str:
    depth = rng.randrange(50, 3000)
    if kind in ("compose", "kubernetes", "kustomize"):
        if rng.random() < 0.5:
            return "services:\n  a: " + "[" * depth + "]" * depth + "\n"
        return "".join("  " * i + f"k{i}:\n" for i in range(min(depth, 400))) + "  " * 400 + "x: 1\n"
    if kind == "python":
        return "JWT_SECRET = " + "(" * depth + "'x'" + ")" * depth + "\n"
    if kind == "dotenv":
        return "JWT_SECRET=" + "${A:-" * min(depth, 300) + "x" + "}" * min(depth, 300) + "\n"
    if kind == "shell":
        return "export JWT_SECRET=" + "$(" * min(depth, 500) + "x" + ")" * min(depth, 500) + "\n"
    return "FROM x\n" + "ENV A=1 \\\n" * min(depth, 2000) + "B=2\n"


def generate(rng: random.Random, kind: str) -> str | bytes:
    pick = rng.randrange(20)
    if pick == 0:
        return rng.randbytes(rng.randrange(300))
    if pick == 1:
        return "".join(chr(rng.randrange(0x30000)) for _ in range(rng.randrange(200)))
    if pick == 2:
        return deep(rng, kind)
    if pick == 3:
        return mutate(rng, rng.choice(SEEDS[kind])) * rng.randrange(2, 30)
    if pick == 4:  # one long line; rarely up to the 512 KB line cap (see SLOW below)
        top = 600_000 if rng.random() < 0.002 else 20_000
        return "JWT_SECRET=" + "A" * rng.randrange(1000, top) + "\n"
    if pick == 5:  # a value in every syntax, any reader
        return mutate(rng, rng.choice([s for seeds in SEEDS.values() for s in seeds]))
    text = rng.choice(SEEDS[kind])
    for _ in range(rng.randrange(1, 4)):
        text = mutate(rng, text)
    return text


class Fuzzer:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.sources = {s.kind: s for s in all_sources()}
        missing = set(SEEDS) - set(self.sources)
        if missing:
            raise SystemExit(f"readers not found: {sorted(missing)}")
        self.names = NameClassifier(preset_specs())
        self.config = Config.default()
        self.outcomes: Counter[str] = Counter()
        self.failures = 0
        self.slow: list[tuple[float, str, int]] = []
        self.slowest = (0.0, "", "")

    def companions(self) -> dict[str, str]:
        out = {}
        for rel, text in COMPANIONS.items():
            roll = self.rng.random()
            if roll < 0.15:
                continue  # absent
            out[rel] = mutate(self.rng, text) if roll < 0.6 else text
        return out

    def context(self, path: str, files: dict[str, str]) -> ReadContext:
        def read_text(rel: str) -> str:
            if rel not in files:
                raise UnreadableFile("file not found")
            check_bytes(files[rel].encode("utf-8", "surrogatepass"))
            return FileReader.decode(files[rel].encode("utf-8", "surrogatepass"))

        return ReadContext(
            root="/fuzz", path=path, environment=self.rng.choice([None, "staging", "production"]),
            template=self.rng.random() < 0.1, tracked=self.rng.choice([None, "tracked"]),
            config=self.config, files=frozenset([path, *files]), read_text=read_text,
            environment_of=lambda p: None, tracked_of=lambda p: None, names=self.names,
        )

    def one(self, kind: str, data: str | bytes, files: dict[str, str]) -> str:
        source: Source = self.sources[kind]
        path = self.rng.choice(PATHS[kind])
        assert source.matches(path), (kind, path)
        raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
        try:
            check_bytes(raw)
            text = FileReader.decode(raw)
        except UnreadableFile:
            return "refused-bytes"
        if not source.wants(raw, self.names):
            return "not-wanted"
        try:
            source.read(path, text, self.context(path, files))
        except UnreadableFile:
            return "skipped"
        except RecursionError:
            return "skipped-nested"
        return "read"

    def pipeline(self, kind: str, data: str | bytes, files: dict[str, str]) -> str:
        tmp = tempfile.mkdtemp(prefix="kd-fuzz-")
        try:
            root = Path(tmp)
            path = self.rng.choice(PATHS[kind])
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
            target.write_bytes(raw)
            for rel, text in files.items():
                companion = target.parent / rel
                companion.parent.mkdir(parents=True, exist_ok=True)
                companion.write_bytes(text.encode("utf-8", "surrogatepass"))
            result = run_check([tmp], config=self.config)
            for fmt in ("text", "json", "sarif"):
                render(result, fmt)
            return "pipeline"
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def run(self, count: int) -> float:
        kinds = sorted(SEEDS)
        start = time.perf_counter()
        for i in range(count):
            kind = kinds[i % len(kinds)]
            data = generate(self.rng, kind)
            files = self.companions()
            t0 = time.perf_counter()
            signal.setitimer(signal.ITIMER_REAL, PER_INPUT_SECONDS)
            try:
                self.outcomes[self.one(kind, data, files)] += 1
                if i % PIPELINE_EVERY == 0:
                    self.outcomes[self.pipeline(kind, data, files)] += 1
            except Hang:
                self.failures += 1
                print(f"HANG on input {i} ({kind}): {data[:120]!r}", file=sys.stderr)
            except Exception:
                self.failures += 1
                print(f"ESCAPED on input {i} ({kind}): {data[:120]!r}", file=sys.stderr)
                traceback.print_exc()
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            took = time.perf_counter() - t0
            if took > SLOW_SECONDS:
                size = len(data)
                self.slow.append((took, kind, size))
                print(f"SLOW input {i} ({kind}, {size:,} chars): {took:.1f} s", file=sys.stderr)
            if took > self.slowest[0]:
                self.slowest = (took, kind, repr(data[:40]))
        return time.perf_counter() - start


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 120_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    signal.signal(signal.SIGALRM, _alarm)
    fuzzer = Fuzzer(seed)
    elapsed = fuzzer.run(count)
    outcomes = ", ".join(f"{n:,} {k}" for k, n in sorted(fuzzer.outcomes.items()))
    took, kind, head = fuzzer.slowest
    print(f"fuzzed {count:,} inputs over {len(SEEDS)} readers in {elapsed:.1f} s (seed {seed}): "
          f"{outcomes}; {fuzzer.failures} escapes or hangs; {len(fuzzer.slow)} inputs over "
          f"{SLOW_SECONDS:.0f} s; slowest input {took * 1000:.0f} ms ({kind}, starting {head})")
    return 1 if fuzzer.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
