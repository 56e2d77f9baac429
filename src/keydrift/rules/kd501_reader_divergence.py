"""KD501 reader-divergence: one written value that two delivery paths read differently."""

from __future__ import annotations

from collections.abc import Iterator

from keydrift.model.types import Assignment, Model
from keydrift.rules._common import (
    consumers,
    env_label,
    fp_labels,
    is_secret_name,
    judged,
    literal_location,
    provenance,
)
from keydrift.rules.interface import Finding, Rule, Severity

# Views that need no second tool: what compose interpolation did to a compose file's text, a
# Kubernetes Secret encoded twice, a mounted file read raw against keydrift's reading of it.
_INTRINSIC = frozenset(
    {"as-written", "compose-interpolation", "k8s-secret-data", "base64-decoded-twice",
     "mounted-file", "keydrift-resolve", "stripped", "kustomize-envs", "kustomize-files"}
)


def _in_use(model: Model, a: Assignment, reader: str) -> bool:
    """Does the repository really read ``a``'s file this way? A divergence with a tool nobody
    runs on the file is imagined."""
    if reader in _INTRINSIC:
        return True
    if reader == "python-dotenv" and any(r.reader == "kustomize-envs" for r in a.readers):
        return True  # quotes the pod keeps: what the author meant, stripped, is the reference
    return reader in model.readers_in_use.get(a.location.path, frozenset())


class ReaderDivergence(Rule):
    id = "KD501"
    name = "reader-divergence"
    title = "One written value is read differently by different tools"
    default_severity = Severity.WARNING

    def check(self, model: Model) -> Iterator[Finding]:
        seen: set[tuple[str, str]] = set()
        for a in model.assignments:
            if not a.readers or a.template or not is_secret_name(model, a.variable):
                continue
            base = a.value if a.value is not None else a.raw
            if base is None or not judged(model, a):
                continue
            readers = [r for r in a.readers if _in_use(model, a, r.reader)]
            differ = [r for r in readers if not r.value.equals(base)]
            if not differ:
                continue
            where = literal_location(a)
            key = (a.variable, str(where))
            if key in seen:
                continue
            seen.add(key)
            # Every view, the agreeing ones too: their notes say why the value changed
            # ("'$name' eaten by compose interpolation").
            shown = fp_labels(model, [base, *(r.value for r in readers)])
            views = "; ".join(
                f"{r.reader} gives {shown[r.value.fingerprint]} ({r.note})" for r in readers
            )
            yield self.finding(
                environment=a.environment,
                services=consumers(model, a),
                locations=provenance(a),
                fingerprints=[shown[base.fingerprint], *(shown[r.value.fingerprint] for r in differ)],
                message=(
                    f"{a.variable} at {where} ({env_label(a.environment)}) reaches {a.source} "
                    f"consumers as {shown[base.fingerprint]}, but {len(differ)} other reader"
                    f"{'s' if len(differ) != 1 else ''} see{'s' if len(differ) == 1 else ''} "
                    f"different bytes: {views}"
                ),
                runtime_effect=(
                    "Services fed this value by different tools get different keys, so their "
                    "tokens do not verify against each other even though the file looks right."
                ),
                fix=(
                    "write the value so every reader sees the same bytes: no quotes in files "
                    "read by `docker run --env-file` / `kubectl --from-env-file`, `$$` for a "
                    "literal `$` in compose, no trailing newline in secret files "
                    "(`printf %s`), base64-encode Kubernetes Secret data once (or use "
                    "stringData)"
                ),
                variable=a.variable,
                steps=a.chain,
            )
