"""The ``bpverify`` group: its commands, and how every error ends (``exitcodes``).

Bad input (the library's ``InputError``, a click usage error) is one line on stderr and exit
code 2. Any other exception escaping a command is a bug: one line naming it and exit code 4,
with the traceback under ``--debug`` (or ``BPVERIFY_DEBUG=1``).
"""

from __future__ import annotations

import sys
import traceback

import click

from . import exitcodes, files

DEBUG_ENV = "BPVERIFY_DEBUG"


class Group(click.Group):
    """A click group whose errors are one line each, and whose exit codes are ``exitcodes``'."""

    def main(self, args=None, prog_name=None, standalone_mode=True, **extra):
        try:
            rv = super().main(args, prog_name or "bpverify", standalone_mode=False, **extra)
        except click.exceptions.Exit as e:
            code = e.exit_code
        except click.exceptions.Abort:
            click.echo("bpverify: interrupted", err=True)
            code = exitcodes.INTERRUPTED
        except click.ClickException as e:  # usage errors, bad parameters, unreadable files
            ctx = getattr(e, "ctx", None)
            name = ctx.command_path if ctx else "bpverify"
            hint = f" (see '{name} --help')" if isinstance(e, click.UsageError) and ctx else ""
            click.echo(f"{name}: {e.format_message()}{hint}", err=True)
            code = exitcodes.BAD_INPUT
        else:
            code = rv if isinstance(rv, int) else exitcodes.PASS
        if standalone_mode:
            sys.exit(code)
        return code

    def parse_args(self, ctx, args):
        # Bare `bpverify` is a newcomer asking what there is: the help on stdout, exit 0 (click
        # itself treats it as a usage error, on stderr with exit 2).
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            click.echo(ctx.get_help(), color=ctx.color)
            ctx.exit(exitcodes.PASS)
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as e:
            name = " ".join(["bpverify", *filter(None, [ctx.invoked_subcommand])])
            if _is_input_error(e):
                click.echo(f"{name}: {_one_line(str(e))}", err=True)
                raise click.exceptions.Exit(exitcodes.BAD_INPUT) from None
            if ctx.params.get("debug"):
                traceback.print_exc(file=sys.stderr)
            message = _one_line(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)
            click.echo(
                f"{name}: internal error: {message} (run with --debug for the traceback)",
                err=True,
            )
            raise click.exceptions.Exit(exitcodes.INTERNAL_ERROR) from None


def _is_input_error(e: Exception) -> bool:
    # Every InputError comes from bpverify.derive.errors; when that module was never imported,
    # nothing raised one, and importing it here would import SymPy to classify any error.
    errors = sys.modules.get("bpverify.derive.errors")
    return errors is not None and isinstance(e, errors.InputError)


def _one_line(text: str) -> str:
    return " ".join(text.split("\n")).strip()


@click.group(name="bpverify", cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bpverify")
@click.option(
    "--debug",
    is_flag=True,
    envvar=DEBUG_ENV,
    help=f"Print the traceback of an internal error (exit code 4); also {DEBUG_ENV}=1.",
)
def main(debug: bool) -> None:
    """Derive, generate and verify the backpropagation gradients of multilayer networks.

    \b
    Exit codes: 0 pass (prove: PROVED), 1 fail (REFUTED, training diverged), 2 bad input,
    3 UNDECIDED, 4 internal error.
    """
    files.guard_stdout(click.get_current_context())  # a full or closed stdout: one line, exit 2


def _register() -> None:
    from . import check, derive, generate, prove, train
    from .serve import serve

    main.add_command(check.check)
    main.add_command(derive.derive)
    main.add_command(generate.generate)
    main.add_command(prove.prove)
    main.add_command(serve)
    main.add_command(train.train)


_register()
