"""``keydrift check``: static pre-deploy check of a repository's secret configuration.

Builds the model (:func:`keydrift.model.build_model`), runs every rule, filters by baseline and
renders text, JSON or SARIF. The report goes to stdout (or ``--output``, written atomically), the
summary line to stderr. Exit codes (docs/exit-codes.md): 0 no finding at or above ``--fail-on``,
1 findings, 2 usage or input error.
"""

from __future__ import annotations

import os
import sys

import click

from keydrift.report.interface import FORMATS

FAIL_ON = ("error", "warning", "never")


@click.command(
    "check",
    help="Check a repository's secret configuration before deploy.\n\n"
    "PATH is a directory, a file, or - for stdin (e.g. `docker compose config | keydrift "
    "check -`). Default: the current directory.\n\n"
    "Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 usage or input error.",
)
@click.argument("paths", nargs=-1, metavar="[PATH ...|-]")
@click.option("--env", "environment", metavar="E", help="Only check environment E.")
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
    help="Report format.",
)
@click.option(
    "--fail-on", type=click.Choice(FAIL_ON), default="error", show_default=True,
    help="Lowest severity that makes the exit code 1.",
)
@click.option("--baseline", metavar="FILE", help="Ignore the findings accepted in FILE.")
@click.option(
    "--write-baseline", metavar="FILE",
    help="Accept every current finding: write them to FILE and exit 0.",
)
@click.option("--config", "config_path", metavar="FILE",
              help="keydrift.toml or pyproject.toml to use instead of the one in PATH.")
@click.option("--output", "-o", metavar="FILE",
              help="Write the report to FILE (atomically) instead of stdout.")
@click.option("--color/--no-color", default=None,
              help="Colour the text report (default: only on a terminal, unless NO_COLOR).")
def command(
    *,
    paths: tuple[str, ...],
    environment: str | None,
    fmt: str,
    fail_on: str,
    baseline: str | None,
    write_baseline: str | None,
    config_path: str | None,
    output: str | None,
    color: bool | None,
) -> int:
    from keydrift.baseline import apply_baseline, load_baseline, write_atomic
    from keydrift.baseline import write_baseline as save_baseline
    from keydrift.errors import UsageError
    from keydrift.model import build_model, load_config
    from keydrift.report.interface import CheckResult, render
    from keydrift.rules.interface import Severity, all_rules, run_rules
    from keydrift.spec import SecretSpec, normalize_environment

    targets = list(paths) or ["."]
    if targets.count("-") > 1:
        raise UsageError("stdin (-) can be named only once")
    if environment is not None:
        environment = normalize_environment(SecretSpec.validate_environment(environment))
    first = next((p for p in targets if p != "-"), ".")
    config = load_config(first, config_path)
    stdin = sys.stdin if "-" in targets else None
    model = build_model(targets, config=config, environment=environment, stdin=stdin)

    findings = run_rules(model)
    if environment is not None:
        findings = [
            f for f in findings
            if f.environment is None or environment in f.environment.split(",")
        ]
    if write_baseline is not None:
        count = save_baseline(write_baseline, findings)
        click.echo(f"keydrift check: wrote {count} accepted findings to {write_baseline}",
                   err=True)
        return 0
    baselined = 0
    if baseline is not None:
        findings, baselined = apply_baseline(findings, load_baseline(baseline))

    result = CheckResult(
        root=model.root,
        findings=findings,
        rules=all_rules(),
        skipped=list(model.skipped),
        files_checked=len(model.files),
        environments=list(model.environments),
        baselined=baselined,
    )
    if color is None:
        color = (
            output is None
            and fmt == "text"
            and "NO_COLOR" not in os.environ
            and sys.stdout.isatty()
        )
    use_color = bool(color) and fmt == "text"
    text = render(result, fmt, color=use_color)
    if output is not None:
        write_atomic(output, text)
    else:
        # click.echo strips ANSI codes on non-terminals unless told; --color means it.
        click.echo(text, nl=False, color=use_color)
    click.echo(result.summary_line(), err=True)

    if fail_on == "never":
        return 0
    threshold = Severity(fail_on).rank
    return 1 if any(f.severity.rank >= threshold for f in findings) else 0
