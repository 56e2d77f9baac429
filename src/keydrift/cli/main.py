"""``keydrift`` entry point: one click group, lazily loaded commands, one error handler.

Each command lives in its own module ``keydrift.cli.<name>`` exposing ``command`` (a
``click.Command``). Commands are imported only when invoked so that ``keydrift --version``
starts fast. Every :class:`~keydrift.errors.KeydriftError` reaching :func:`main` becomes one line
on stderr (plus advice) and the exit code from ``docs/exit-codes.md``; no traceback is shown
unless ``KEYDRIFT_DEBUG=1``.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import sys
import threading
from collections.abc import Sequence

import click

from keydrift._version import __version__

# Exit codes (docs/exit-codes.md). Versioned with the JSON schema: never renumbered.
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERNAL = 3

COMMANDS: dict[str, str] = {
    "check": "Check a repository's secret configuration before deploy.",
    "explain": "Say why a token is rejected and which secret signed it.",
    "probe": "Ask live replicas for their key fingerprints and find the odd one out.",
    "fingerprint": "Show which variable or file this process resolves, and its fingerprint.",
    "generate": "Print a new strong secret (the only command that prints one).",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if _module_exists(name)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _module_exists(cmd_name):
            return None
        module = importlib.import_module(f"keydrift.cli.{cmd_name}")
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help from the table above, so `keydrift --help` imports no command module.
        rows = [(name, COMMANDS[name]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _module_exists(name: str) -> bool:
    here = os.path.dirname(__file__)
    return os.path.exists(os.path.join(here, f"{name}.py"))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="keydrift")
def cli() -> None:
    """keydrift: make JWT signing-secret drift impossible to ship and quick to diagnose.

    Exit codes: 0 ok, 1 findings or rejection, 2 usage or input error, 3 internal error.
    """


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI in-process and return its exit code (never raises, never calls exit)."""
    from keydrift.errors import KeydriftError

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        rv = cli.main(args=args, prog_name="keydrift", standalone_mode=False)
    except KeydriftError as exc:
        _report_error(exc.one_line(), exc.advice)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        return EXIT_USAGE
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        if os.environ.get("KEYDRIFT_DEBUG") == "1":
            raise
        # The type name only: an exception message might quote input we were handed.
        click.echo(
            f"keydrift: internal error ({type(exc).__name__}); rerun with KEYDRIFT_DEBUG=1 "
            "and report it",
            err=True,
        )
        return EXIT_INTERNAL
    if isinstance(rv, int):
        return rv
    return EXIT_OK


def _report_error(message: str, advice: str | None) -> None:
    # Messages name files and values' places from the input: escaped, one line each.
    from keydrift._format import printable

    click.echo(f"keydrift: error: {printable(message)}", err=True)
    if advice:
        click.echo(f"  advice: {printable(advice)}", err=True)


def entry() -> None:
    """Console-script entry point."""
    # One command, then exit, so cyclic garbage is bounded by that command. With the cyclic
    # collector on, the first collection after a check (which runs with it off) scans the
    # whole model it hands back, a million objects: ~15 ms on a 1,000-file tree, and again
    # as they reach each older generation. `main()` (in-process use) leaves it as it is.
    gc.disable()
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        # Python flushes stdout at exit; a closed pipe there would print a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    if threading.active_count() == 1 and "coverage" not in sys.modules:
        # Everything is written and closed: skip the interpreter's teardown, which frees a
        # check's model object by object (~40 ms on a 1,000-file tree), as mypy does. Not
        # with another thread still running (exit waits for it) or under coverage (which
        # writes its data at exit).
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
