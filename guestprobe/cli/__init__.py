"""The command line: the only layer that imports click or prints. Every failure a user can meet
is one line with a documented exit status (``guestprobe exit-statuses``).

- :mod:`.common` the shared options, preconditions and ``emit`` (report to terminal or file);
- :mod:`.scan` ``scan``; :mod:`.report` ``report`` and ``compare``; :mod:`.bundle` ``collect``;
- :mod:`.fencing` ``fencing-test``; :mod:`.fencing_cluster` ``fencing-node``, ``fencing-cluster``;
  :mod:`.explain` ``explain``.

Each command parses its options, calls :mod:`guestprobe.pipeline` (or the fencing test), and
prints what comes back.
"""


import gc
import os
import sys

import click

from guestprobe import __version__
from guestprobe.cli.report import report
from guestprobe.cli.scan import scan
from guestprobe.errors import EXIT_STATUS_MEANINGS, ExitStatus, GuestprobeError, one_line


class LazyGroup(click.Group):
    """A group whose heavier commands are imported only when named (start-up time matters:
    a Python start costs over a second in a software-emulated guest)."""

    def list_commands(self, ctx: "click.Context") -> "list[str]":
        return sorted({*super().list_commands(ctx), *_LAZY_COMMANDS})

    def get_command(self, ctx: "click.Context", name: str) -> "click.Command | None":
        if name not in self.commands and name in _LAZY_COMMANDS:
            self.add_command(_LAZY_COMMANDS[name](), name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: "click.Context", formatter: "click.HelpFormatter") -> None:
        """Each command with the first sentence of its help, whole (click cuts it at ~45
        characters)."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not getattr(command, "hidden", False):
                text = " ".join((command.help or "").split("\n\n", 1)[0].split())
                rows.append((name, text.split(". ", 1)[0].rstrip(".") + "."))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


# where the man page and the bash completion are, in the order looked at: a pip/pipx/venv
# install's data files (under sys.prefix), a checkout's packaging/, the RPM's
_EXTRAS = {
    "man": ("share/man/man8/guestprobe.8", "packaging/guestprobe.8",
            "/usr/share/man/man8/guestprobe.8.gz"),
    "completion": ("share/bash-completion/completions/guestprobe.bash", "packaging/guestprobe.bash",
                   "/usr/share/bash-completion/completions/guestprobe"),
}


def extra_text(what: str) -> "str | None":
    """The man page (``man``) or the bash completion (``completion``) as installed, or None."""
    import gzip
    from pathlib import Path

    prefixed, in_tree, packaged = _EXTRAS[what]
    for path in (Path(sys.prefix) / prefixed, Path(__file__).resolve().parents[2] / in_tree,
                 Path(packaged)):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        return (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8")
    return None


def _print_extra(ctx: "click.Context", param: "click.Parameter", value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    what = "man" if param.name == "man" else "completion"
    text = extra_text(what)
    if text is None:
        raise GuestprobeError(f"the {'man page' if what == 'man' else 'bash completion'} is not "
                              "installed with this guestprobe", ExitStatus.USAGE)
    from guestprobe.cli.common import write_out

    write_out(text)
    ctx.exit(0)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="guestprobe")
@click.option("--man", is_flag=True, expose_value=False, is_eager=True, callback=_print_extra,
              help="Print the man page (troff) and exit: guestprobe --man | man -l -")
@click.option("--completion", is_flag=True, expose_value=False, is_eager=True,
              callback=_print_extra,
              help="Print the bash completion and exit: source <(guestprobe --completion)")
def cli() -> None:
    """Which Veritas InfoScale storage features can this KVM guest's disks use, and why."""


cli.add_command(scan)
cli.add_command(report)


@cli.command("exit-statuses")
def exit_statuses() -> None:
    """List guestprobe's exit statuses and what they mean."""
    from guestprobe.cli.common import write_out

    write_out("".join(f"{int(s):3d}  {meaning}\n" for s, meaning in EXIT_STATUS_MEANINGS.items()))


# -- commands in their own modules, loaded on first use --------------------------------------------
def _explain() -> "click.Command":
    from guestprobe.cli.explain import explain

    return explain


def _fencing_test() -> "click.Command":
    from guestprobe.cli.fencing import fencing_test

    return fencing_test


def _fencing_node() -> "click.Command":
    from guestprobe.cli.fencing_cluster import fencing_node

    return fencing_node


def _fencing_cluster() -> "click.Command":
    from guestprobe.cli.fencing_cluster import fencing_cluster

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
    # A report's records hold no reference cycles, and one run is short: the cycle collector
    # looks every 50,000 new containers, not every 700 (at 1024 disks it took a fifth of a
    # report's re-judging; docs/performance.md). Memory stays bounded by the input caps.
    gc.set_threshold(50_000, 20, 20)
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
            f"guestprobe: internal error: {one_line(repr(exc))} "
            "(set GUESTPROBE_DEBUG=1 for details)",
            err=True,
        )
        sys.exit(ExitStatus.INTERNAL)
    sys.exit(0)
