"""The command line: the only layer that imports click or prints. Every failure a user can meet
is one line with a documented exit status (``guestprobe exit-statuses``).

- :mod:`.common` the shared options, preconditions and ``emit`` (report to terminal or file);
- :mod:`.scan` ``scan``; :mod:`.report` ``report`` and ``compare``; :mod:`.bundle` ``collect``;
- :mod:`.fencing` ``fencing-test``; :mod:`.explain` ``explain``.

Each command parses its options, calls :mod:`guestprobe.pipeline` (or the fencing test), and
prints what comes back.
"""


import os
import sys

import click

from guestprobe import __version__
from guestprobe.cli.report import report
from guestprobe.cli.scan import scan
from guestprobe.errors import EXIT_STATUS_MEANINGS, ExitStatus, GuestprobeError, one_line
from guestprobe.report.escape import terminal_text


class LazyGroup(click.Group):
    """A group whose heavier commands are imported only when named (start-up time matters:
    a Python start costs over a second in a software-emulated guest)."""

    def list_commands(self, ctx: "click.Context") -> "list[str]":
        return sorted({*super().list_commands(ctx), *_LAZY_COMMANDS})

    def get_command(self, ctx: "click.Context", name: str) -> "click.Command | None":
        if name not in self.commands and name in _LAZY_COMMANDS:
            self.add_command(_LAZY_COMMANDS[name](), name)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="guestprobe")
def cli() -> None:
    """Which Veritas InfoScale storage features can this KVM guest's disks use, and why."""


cli.add_command(scan)
cli.add_command(report)


@cli.command("exit-statuses")
def exit_statuses() -> None:
    """List guestprobe's exit statuses and what they mean."""
    for status, meaning in EXIT_STATUS_MEANINGS.items():
        click.echo(f"{int(status):3d}  {meaning}")


# -- commands in their own modules, loaded on first use --------------------------------------------
def _explain() -> "click.Command":
    from guestprobe.cli.explain import explain

    return explain


def _fencing_test() -> "click.Command":
    from guestprobe.cli.fencing import fencing_test

    return fencing_test


def _fencing_node() -> "click.Command":
    from guestprobe.cli.fencing import fencing_node

    return fencing_node


def _fencing_cluster() -> "click.Command":
    from guestprobe.cli.fencing import fencing_cluster

    return fencing_cluster


def _collect() -> "click.Command":
    from guestprobe.cli.bundle import collect_command

    return collect_command


def _compare() -> "click.Command":
    from guestprobe.cli.report import compare

    return compare


def _host() -> "click.Command":
    from guestprobe.cli.host import host_command

    return host_command


_LAZY_COMMANDS = {
    "explain": _explain,
    "host": _host,
    "fencing-test": _fencing_test,
    "fencing-node": _fencing_node,
    "fencing-cluster": _fencing_cluster,
    "collect": _collect,
    "compare": _compare,
}


def main(argv: "list[str] | None" = None) -> None:
    """Entry point: one-line messages and documented exit statuses, never a traceback."""
    try:
        cli.main(args=argv, prog_name="guestprobe", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitStatus.USAGE)
    except click.exceptions.Abort:
        click.echo("guestprobe: interrupted", err=True)
        sys.exit(130)
    except GuestprobeError as exc:
        click.echo(f"guestprobe: {one_line(str(exc))}", err=True)
        sys.exit(exc.exit_status)
    except KeyboardInterrupt:
        click.echo("guestprobe: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:
        if os.environ.get("GUESTPROBE_DEBUG"):
            raise
        click.echo(
            terminal_text(
                f"guestprobe: internal error: {exc!r} (set GUESTPROBE_DEBUG=1 for details)"
            ),
            err=True,
        )
        sys.exit(ExitStatus.INTERNAL)
    sys.exit(0)
