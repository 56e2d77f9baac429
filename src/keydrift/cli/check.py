"""``keydrift check``: flags in, :func:`keydrift.check.run_check`, a rendered report out.

The report goes to stdout (or ``--output``), the summary line to stderr. Exit codes
(docs/exit-codes.md): 0 no finding at or above ``--fail-on``, 1 findings, 2 usage or input error.
"""

from __future__ import annotations

import os
import sys

import click

from keydrift.report.interface import FORMATS

FAIL_ON = ("error", "warning", "note", "never")


@click.command(
    "check",
    help="Check a repository's secret configuration before deploy.\n\n"
    "PATH is a directory, a file, or - for stdin (e.g. `docker compose config | keydrift "
    "check -`). Default: the current directory.\n\n"
    "Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 usage or input error.",
)
@click.argument("paths", nargs=-1, metavar="[PATH ...|-]")
@click.option("--env", "environments", metavar="E", multiple=True,
              help="Only report findings for environment E (repeatable). An environment the "
                   "checked files do not have is an error (exit 2).")
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
    help="Accept every current finding: write them to FILE (- for stdout) and exit 0.",
)
@click.option("--config", "config_path", metavar="FILE",
              help="keydrift.toml or pyproject.toml to use instead of the one in PATH.")
@click.option("--output", "-o", metavar="FILE",
              help="Write the report to FILE instead of stdout (- for stdout). A regular file is "
              "replaced atomically; a FIFO, /dev/null or /dev/stdout is written through; links "
              "and other special files are refused (exit 2).")
@click.option("--matrix", is_flag=True,
              help="Also print the drift grid (which service has which key, per environment) "
                   "to stderr.")
@click.option("--no-inline-ignore", "no_inline_ignore", is_flag=True,
              help="Report findings silenced by `# keydrift: ignore` comments too (audits).")
@click.option("--color/--no-color", default=None,
              help="Colour the text report (default: only on a terminal, unless NO_COLOR).")
@click.option("--jobs", "-j", type=click.IntRange(1, 2), default=None, metavar="N",
              help="Processes doing the work: 1, or 2 to let a forked copy read part of a large "
                   "tree and run part of its rules on a second core (default: 2 when a second "
                   "core is free and the tree is large enough to gain from it). The findings "
                   "are the same either way.")
def command(
    *,
    paths: tuple[str, ...],
    environments: tuple[str, ...],
    fmt: str,
    fail_on: str,
    baseline: str | None,
    write_baseline: str | None,
    config_path: str | None,
    output: str | None,
    color: bool | None,
    matrix: bool,
    no_inline_ignore: bool,
    jobs: int | None,
) -> int:
    from keydrift._format import printable
    from keydrift.check import run_check
    from keydrift.check.baseline import baseline_text, write_atomic
    from keydrift.check.baseline import write_baseline as save_baseline
    from keydrift.model.findings import Severity
    from keydrift.report.interface import render

    stdin = sys.stdin if "-" in paths else None
    result = run_check(
        list(paths) or ["."],
        config=config_path,
        environments=environments,
        baseline=None if write_baseline is not None else baseline,
        stdin=stdin,
        inline_ignore=not no_inline_ignore,
        jobs=jobs,
    )
    if write_baseline == "-":
        text, count = baseline_text(result.findings)
        click.echo(text, nl=False)
        click.echo(f"keydrift check: wrote {count} accepted findings to stdout", err=True)
        return 0
    if write_baseline is not None:
        count = save_baseline(write_baseline, result.findings)
        click.echo(f"keydrift check: wrote {count} accepted findings to "
                   f"{printable(write_baseline)}", err=True)
        return 0

    to_stdout = output in (None, "-")
    if color is None:
        color = to_stdout and fmt == "text" and "NO_COLOR" not in os.environ and sys.stdout.isatty()
    use_color = bool(color) and fmt == "text"
    text = render(result, fmt, color=use_color)
    if to_stdout:
        # click.echo strips ANSI codes on non-terminals unless told; --color means it.
        click.echo(text, nl=False, color=use_color)
    else:
        assert output is not None
        write_atomic(output, text)
    if matrix:
        from keydrift.report.matrix import render_matrix

        click.echo(render_matrix(result), err=True, nl=False)
    click.echo(result.summary_line(), err=True)

    if fail_on == "never":
        return 0
    threshold = Severity(fail_on).rank
    return 1 if any(f.severity.rank >= threshold for f in result.findings) else 0
