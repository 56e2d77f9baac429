"""``keydrift fingerprint``: which variable or file this process resolves, and its fingerprint."""

from __future__ import annotations

import dataclasses
import json
import os
import sys

import click

from keydrift.errors import UsageError
from keydrift.spec import DEFAULT_JWT_SPEC, SecretSpec


def _spec_for(name: str, variables: tuple[str, ...], algorithm: str | None) -> SecretSpec:
    base = DEFAULT_JWT_SPEC
    if name != "jwt":
        from keydrift.presets import all_presets

        presets = {p.id: p for p in all_presets()}
        if name not in presets:
            raise UsageError(f"unknown spec {name!r}",
                             advice=f"use jwt or a preset: {', '.join(sorted(presets)) or 'none'}")
        base = presets[name].spec
    # Copies keep every other field (file suffix, minimum length, production-like names).
    if variables:
        base = dataclasses.replace(base, variables=variables, previous_variables=())
    if algorithm:
        base = dataclasses.replace(base, algorithm=algorithm)
    return base


@click.command("fingerprint")
@click.option("--env", "environment", default=None,
              help="Environment name (default: from $ENVIRONMENT).")
@click.option("--spec", "spec_name", default="jwt", show_default=True,
              help="Secret spec: jwt, or a preset id such as langflow.")
@click.option("--var", "variables", multiple=True,
              help="Variable names in priority order (overrides the spec's; repeatable).")
@click.option("--algorithm", default=None, help="Algorithm, e.g. HS512 (default: the spec's).")
@click.option("--dotenv", "dotenv_path", type=click.Path(dir_okay=False), default=None,
              help="Also read this .env file (the process environment wins).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def command(environment: str | None, spec_name: str, variables: tuple[str, ...],
            algorithm: str | None, dotenv_path: str | None, fmt: str) -> int:
    """Show where this process's secret comes from and its RFC 7638 fingerprint (never the value).

    Exit 0 when a usable secret resolves, 1 when it is missing or refused.
    """
    from keydrift._format import printable
    from keydrift.resolve import resolve
    from keydrift.strength import WEAK_LABEL, check_strength, is_guessable

    spec = _spec_for(spec_name, variables, algorithm)
    resolved = resolve(spec, environment, env=os.environ, dotenv_path=dotenv_path,
                       enforce_strength=False)
    report = check_strength(resolved.value, spec.algorithm, min_bytes=spec.min_bytes)
    refused = not report.ok and spec.is_production_like(resolved.environment)
    # A guessable secret is recovered from its fingerprint offline: show neither it nor the kid.
    withheld = is_guessable(resolved.value)
    short_fp = WEAK_LABEL if withheld else resolved.short_fingerprint
    kid = None if withheld else resolved.fingerprint
    if fmt == "json":
        doc = {
            "schema_version": 1,
            "spec": spec.name,
            "environment": resolved.environment,
            "variable": resolved.variable,
            "source": str(resolved.provenance),
            "source_kind": resolved.provenance.kind,
            "algorithm": spec.algorithm,
            "fingerprint": short_fp,
            "kid": kid,
            "strength": {"ok": report.ok, "problems": [p.code for p in report.problems]},
            "refused": refused,
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        env_label = resolved.environment or "(none)"
        click.echo(f"spec:        {spec.name} ({spec.algorithm})")
        click.echo(f"environment: {env_label}")
        click.echo(f"source:      {printable(str(resolved.provenance))}")
        click.echo(f"fingerprint: {short_fp}")
        click.echo(f"kid:         {kid or 'withheld (a weak secret is guessable from it)'}")
        for problem in report.problems:
            click.echo(f"weak:        {problem.message}")
        if refused:
            click.echo(f"keydrift: this secret would be refused in {env_label!r} "
                       "(production-like)", err=True)
    return 1 if refused else 0
