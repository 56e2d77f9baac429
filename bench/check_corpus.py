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
