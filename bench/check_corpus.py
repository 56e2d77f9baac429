"""Generate the ``keydrift check`` benchmark corpus: N files of 1-20 KB (code, docs, .env,
compose, Kubernetes YAML, shell) with a few dozen planted problems.

    .venv/bin/python bench/check_corpus.py [--files 5000] [--out bench/corpus/x1] [--seed 7]

Deterministic for a seed. Planted problems (listed in ``<out>/PLANTED.txt``): scaled compose
services without a secret, staging.env versus deploy-script disagreements, placeholders,
weak and hardcoded secrets, tracked-looking .env files, double base64 Secrets.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import string

WORDS = (
    "request", "response", "handler", "service", "client", "server", "token", "cache",
    "session", "user", "account", "config", "value", "result", "error", "retry", "timeout",
    "buffer", "stream", "channel", "message", "event", "queue", "worker", "task", "schedule",
    "deploy", "build", "release", "metric", "trace", "span", "log", "record", "batch", "index",
    "query", "table", "row", "column", "field", "model", "schema", "migrate", "version",
    "update", "create", "delete", "fetch", "store", "load", "save",
)

PY_BLOCKS = [
    "def {f}(self, {a}, {b}=None):\n    \"\"\"{doc}.\"\"\"\n    if {a} is None:\n        "
    "raise ValueError(\"{a} is required\")\n    {b} = {b} or {{}}\n    return [{a}, {b}]\n",
    "class {C}:\n    \"\"\"{doc}.\"\"\"\n\n    def __init__(self, {a}):\n        self.{a} = {a}\n"
    "        self._{b} = []\n\n    def {f}(self):\n        return len(self._{b})\n",
    "for {a} in range(10):\n    {b} = {a} * 2\n    print({b})\n",
    "{A} = {{\"{a}\": 1, \"{b}\": 2, \"timeout\": 30}}\n",
    "import os\n\nLOG_LEVEL = os.getenv(\"LOG_LEVEL\", \"info\")\nPORT = int(os.environ.get("
    "\"PORT\", \"8000\"))\n",
    "async def {f}({a}):\n    async with session.get({a}) as resp:\n        return await resp.json()\n",
    "# Token bucket rate limiter for {a} {b}.\nRATE = 10\nBURST = 20\n",
]
JS_BLOCK = (
    "export function {f}({a}, {b}) {{\n  // {doc}\n  const out = [];\n  for (const x of {a}) "
    "{{\n    out.push(x + {b});\n  }}\n  return out;\n}}\n\n"
)
GO_BLOCK = (
    "func {F}({a} string, {b} int) (string, error) {{\n\t// {doc}\n\tif {b} < 0 {{\n\t\treturn "
    "\"\", fmt.Errorf(\"bad {b}\")\n\t}}\n\treturn {a}, nil\n}}\n\n"
)
MD_BLOCK = (
    "## {T}\n\nThe {a} {b} keeps a {c} for every {d}. Set `LOG_LEVEL` to `debug` to see each "
    "{a} as it is {e}d. See the API token docs for the {b} limits.\n\n```bash\nmake {a}\n```\n\n"
)
COMPOSE = """services:
  {name}:
    image: myorg/{name}:{tag}
    command: gunicorn app:app -w {workers} --bind 0.0.0.0:8000
    environment:
      ENVIRONMENT: {env}
      LOG_LEVEL: info
      DATABASE_URL: postgres://db:5432/{name}
      JWT_SECRET: ${{JWT_SECRET}}
    deploy:
      replicas: {replicas}
  db:
    image: postgres:16
    environment:
      POSTGRES_DB: {name}
    volumes:
      - db-data:/var/lib/postgresql/data
volumes:
  db-data: {{}}
"""
K8S_DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
  labels:
    app: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
        - name: {name}
          image: registry.example.com/{name}:{tag}
          ports:
            - containerPort: 8080
          env:
            - name: LOG_LEVEL
              value: info
            - name: JWT_SECRET
              valueFrom:
                secretKeyRef:
                  name: {name}-jwt
                  key: JWT_SECRET
          resources:
            limits:
              cpu: 500m
              memory: 256Mi
---
apiVersion: v1
kind: Secret
metadata:
  name: {name}-jwt
  namespace: {ns}
type: Opaque
data:
  JWT_SECRET: {b64}
"""
K8S_SVC = """apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  selector:
    app: {name}
  ports:
    - port: 80
      targetPort: 8080
"""


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _fill(rng: random.Random, block: str, size: int) -> str:
    out: list[str] = []
    total = 0
    while total < size:
        a, b, c, d, e = (rng.choice(WORDS) for _ in range(5))
        text = block.format(
            f=f"{a}_{b}", F=a.title() + b.title(), a=a, b=b, c=c, d=d, e=e, A=a.upper(),
            C=a.title() + "Service", T=f"{a.title()} {b}", doc=_words(rng, 8),
        )
        out.append(text)
        total += len(text)
    return "".join(out)


def _secret(rng: random.Random, n: int = 48) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


def generate(out: str, files: int, seed: int) -> list[str]:
    """Write the corpus; return the planted problems (one line each)."""
    import base64

    rng = random.Random(seed)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    planted: list[str] = []
    per_project = 50
    projects = max(1, files // per_project)
    written = 0
    envs = ["staging", "production", "development"]
    for p in range(projects):
        base = os.path.join(out, f"project{p:04d}")
        for sub in ("src", "docs", "deploy", f"k8s/{envs[p % 3]}", "scripts", "web"):
            os.makedirs(os.path.join(base, sub), exist_ok=True)
        count = per_project if p < projects - 1 else files - written
        name = f"svc{p}"
        env = envs[p % 3]
        plant = p % 10 == 0  # one project in ten carries five planted problems
        for i in range(count):
            size = rng.randint(1024, 20 * 1024)
            kind = i % 50
            if kind == 0:
                replicas = 3 if plant else 1
                text = COMPOSE.format(name=name, tag="1.2", workers=2, env=env, replicas=replicas)
                path = os.path.join(base, "docker-compose.yml")
                if plant:
                    planted.append(f"{path}: scaled service, JWT_SECRET from shell only")
            elif kind == 1:
                value = "changeme" if plant else _secret(rng)
                text = f"ENVIRONMENT={env}\nLOG_LEVEL=info\nJWT_SECRET={value}\n"
                path = os.path.join(base, f"{env}.env")
                if plant:
                    planted.append(f"{path}: placeholder JWT_SECRET")
            elif kind == 2:
                value = _secret(rng) if plant else "${JWT_SECRET}"
                text = (
                    "#!/bin/sh\nset -eu\n"
                    f"gcloud run deploy {name}-{env} --image gcr.io/x/{name} \\\n"
                    f"  --set-env-vars ENVIRONMENT={env},JWT_SECRET={value}\n"
                )
                path = os.path.join(base, "deploy", f"deploy_{env}.sh")
                if plant:
                    planted.append(f"{path}: deploy script disagrees with {env}.env")
            elif kind in (3, 4):
                secret = _secret(rng).encode()
                if plant and kind == 3:
                    secret = base64.b64encode(secret)
                    planted.append(f"{base}/k8s/{env}/{name}-{kind}.yaml: double base64")
                text = K8S_DEPLOY.format(
                    name=f"{name}-{kind}", ns=f"app-{env}", replicas=2, tag="1",
                    b64=base64.b64encode(secret).decode(),
                ) + "---\n" + K8S_SVC.format(name=f"{name}-{kind}")
                path = os.path.join(base, "k8s", env, f"{name}-{kind}.yaml")
            elif kind == 5:
                text = "JWT_SECRET=your-secret-here\nLOG_LEVEL=debug\n"
                path = os.path.join(base, ".env.example")
            elif kind < 25:
                text = _fill(rng, rng.choice(PY_BLOCKS), size)
                if plant and kind == 6:
                    text = f'JWT_SECRET = "{_secret(rng, 12)}"\n' + text
                    planted.append(f"{base}/src/mod{i}.py: weak hardcoded secret")
                path = os.path.join(base, "src", f"mod{i}.py")
            elif kind < 33:
                text = _fill(rng, JS_BLOCK, size)
                path = os.path.join(base, "web", f"comp{i}.js")
            elif kind < 38:
                text = _fill(rng, GO_BLOCK, size)
                path = os.path.join(base, "src", f"pkg{i}.go")
            elif kind < 46:
                text = _fill(rng, MD_BLOCK, size)
                path = os.path.join(base, "docs", f"page{i}.md")
            elif kind < 48:
                text = K8S_SVC.format(name=f"{name}-{i}") * max(1, size // 200)
                path = os.path.join(base, "k8s", env, f"svc{i}.yaml")
            else:
                text = "#!/bin/sh\nset -eu\n" + _fill(rng, "echo {a} {b}\nmake {c}\n", size)
                path = os.path.join(base, "scripts", f"run{i}.sh")
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
            written += 1
    with open(os.path.join(out, "PLANTED.txt"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(planted) + "\n")
    return planted


# -- a tree shaped like the one of issue 8 -----------------------------------------------------
# 1,000 files, about 8.4 MB: Python modules (some of them large settings modules), YAML (compose
# and Kubernetes), JSON, Markdown, and 53 ``.env`` files of 100-300 variables each, some of them
# named by compose services through ``env_file``.

_ENV_STEMS = (
    "DATABASE", "REDIS", "CACHE", "QUEUE", "MAIL", "SMTP", "S3", "STORAGE", "SENTRY", "STRIPE",
    "OAUTH", "GITHUB", "GOOGLE", "SLACK", "TWILIO", "AUTH", "SESSION", "API", "ADMIN", "WEBHOOK",
    "FEATURE", "METRICS", "TRACING", "LOG", "CDN", "SEARCH", "BILLING", "ANALYTICS", "WORKER",
)
_ENV_TAILS = (
    "HOST", "PORT", "URL", "USER", "NAME", "TIMEOUT", "ENABLED", "REGION", "BUCKET", "POOL_SIZE",
    "SECRET", "PASSWORD", "TOKEN", "API_KEY", "CLIENT_ID", "CLIENT_SECRET", "DSN", "LEVEL",
    "RETRIES", "TTL", "PATH", "MODE", "VERSION", "ENDPOINT",
)
SETTINGS_BLOCK = (
    "{A}_{B} = os.environ.get(\"{A}_{B}\", \"{v}\")\n"
    "{A}_{B}_TIMEOUT = int(os.getenv(\"{A}_{B}_TIMEOUT\", \"30\"))\n"
    "{A}_CONFIG = {{\n    \"host\": \"{a}.internal\",\n    \"port\": {port},\n"
    "    \"options\": {{\"retries\": 3, \"{b}\": True}},\n}}\n\n"
)
JSON_BLOCK = (
    "  \"{a}_{b}\": {{\"enabled\": true, \"limit\": {port}, \"name\": \"{c} {d}\", "
    "\"tags\": [\"{a}\", \"{b}\", \"{e}\"]}},\n"
)
YAML_CONFIG_BLOCK = "{a}:\n  {b}: {port}\n  {c}: \"{d} {e}\"\n  enabled: true\n"


def _env_value(rng: random.Random, tail: str) -> str:
    roll = rng.random()
    if tail in ("SECRET", "PASSWORD", "TOKEN", "API_KEY", "CLIENT_SECRET"):
        if roll < 0.08:
            return f"'{_secret(rng, 40)}'"
        if roll < 0.14:
            return f"\"{_secret(rng, 32)}\""
        return _secret(rng, rng.choice((32, 48, 64)))
    if tail in ("PORT", "POOL_SIZE", "RETRIES", "TTL", "TIMEOUT"):
        return str(rng.randint(1, 65535))
    if tail == "URL":
        return f"https://{rng.choice(WORDS)}.example.com/{rng.choice(WORDS)}"
    if tail == "ENABLED":
        return rng.choice(("true", "false"))
    if roll < 0.05:
        return f"${{{rng.choice(_ENV_STEMS)}_HOST}}"
    if roll < 0.1:
        return f"\"{rng.choice(WORDS)} {rng.choice(WORDS)}\""
    return f"{rng.choice(WORDS)}-{rng.choice(WORDS)}"


def _env_file(rng: random.Random, variables: int) -> str:
    lines = ["# generated settings", ""]
    seen: set[str] = set()
    while len(seen) < variables:
        stem, tail = rng.choice(_ENV_STEMS), rng.choice(_ENV_TAILS)
        name = f"{stem}_{tail}" if rng.random() < 0.7 else f"{stem}_{rng.choice(_ENV_STEMS)}_{tail}"
        if name in seen:
            continue
        seen.add(name)
        if rng.random() < 0.04:
            lines.append(f"# {_words(rng, 6)}")
        lines.append(f"{name}={_env_value(rng, tail)}")
    return "\n".join(lines) + "\n"


def _settings_module(rng: random.Random, size: int) -> str:
    head = "import os\n\nDEBUG = os.environ.get(\"DEBUG\", \"false\") == \"true\"\n\n"
    out = [head]
    total = len(head)
    while total < size:
        a, b = rng.choice(_ENV_STEMS), rng.choice(_ENV_TAILS)
        text = SETTINGS_BLOCK.format(
            A=a, B=b, a=a.lower(), b=rng.choice(WORDS), v=rng.choice(WORDS), port=rng.randint(1, 9999)
        )
        out.append(text)
        total += len(text)
    return "".join(out)


def _fill_kw(rng: random.Random, block: str, size: int) -> str:
    out: list[str] = []
    total = 0
    while total < size:
        a, b, c, d, e = (rng.choice(WORDS) for _ in range(5))
        text = block.format(a=a, b=b, c=c, d=d, e=e, port=rng.randint(1, 9999))
        out.append(text)
        total += len(text)
    return "".join(out)


def generate_issue_tree(out: str, files: int = 1000, seed: int = 8) -> dict[str, int]:
    """Write a tree shaped like issue 8's (per 1,000 files: 289 Python modules of which 20 are
    large settings modules, 53 ``.env`` files of 100-300 variables, 12 compose files naming some
    of them, YAML, JSON and Markdown; about 8.4 MB). Returns counts by kind."""
    rng = random.Random(seed)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    counts: dict[str, int] = {}
    per_app = 100
    apps = max(1, files // per_app)
    written = 0
    env_names = (".env", "staging.env", "production.env", ".env.local", "dev.env", "worker.env")
    for app in range(apps):
        base = os.path.join(out, f"app{app:03d}")
        for sub in ("settings", "src", "config", "deploy", "docs", "data"):
            os.makedirs(os.path.join(base, sub), exist_ok=True)
        count = per_app if app < apps - 1 else files - written
        env_files: list[str] = []
        for i in range(count):
            # 53 .env, 289 .py (20 settings), 12 compose, 140 other YAML, 190 JSON, 316 Markdown
            slot = (i * 1000 // per_app + app * 7) % 1000
            if slot < 53:
                name = env_names[len(env_files) % len(env_names)]
                rel = name if len(env_files) < len(env_names) else f"config/{len(env_files)}{name}"
                text = _env_file(rng, rng.randint(100, 300))
                env_files.append(rel)
                kind = "env"
            elif slot < 73:
                rel = f"settings/settings_{i}.py"
                text = _settings_module(rng, rng.randint(50 * 1024, 110 * 1024))
                kind = "settings"
            elif slot < 342:
                rel = f"src/module_{i}.py"
                text = _fill(rng, rng.choice(PY_BLOCKS), rng.randint(2 * 1024, 12 * 1024))
                kind = "python"
            elif slot < 354:
                rel = "docker-compose.yml" if not os.path.exists(
                    os.path.join(base, "docker-compose.yml")) else f"deploy/docker-compose.{i}.yml"
                named = env_files[-3:] or [".env"]
                text = COMPOSE.format(
                    name=f"app{app}", tag="2.0", workers=2, env="production", replicas=2
                ).replace(
                    "    deploy:\n",
                    "    env_file:\n" + "".join(f"      - {n}\n" for n in named) + "    deploy:\n",
                    1,
                )
                if rel.startswith("deploy/"):
                    text = text.replace("      - ", "      - ../")
                kind = "compose"
            elif slot < 494:
                rel = f"config/cfg_{i}.yaml"
                text = _fill_kw(rng, YAML_CONFIG_BLOCK, rng.randint(2 * 1024, 14 * 1024))
                kind = "yaml"
            elif slot < 684:
                rel = f"data/data_{i}.json"
                body = _fill_kw(rng, JSON_BLOCK, rng.randint(2 * 1024, 12 * 1024))
                text = "{\n" + body + "  \"end\": null\n}\n"
                kind = "json"
            else:
                rel = f"docs/page_{i}.md"
                text = _fill(rng, MD_BLOCK, rng.randint(1024, 9 * 1024))
                kind = "markdown"
            with open(os.path.join(base, rel), "w", encoding="utf-8") as fh:
                fh.write(text)
            counts[kind] = counts.get(kind, 0) + 1
            written += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "corpus", "x1"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    planted = generate(args.out, args.files, args.seed)
    print(f"{args.files} files in {args.out}, {len(planted)} planted problems")


if __name__ == "__main__":
    main()
