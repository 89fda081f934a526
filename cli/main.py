"""The ``bpverify`` group: commands, and one line on stderr with exit code 2 for bad input."""

from __future__ import annotations

import sys

import click

BAD_INPUT = 2


class InputError(click.ClickException):
    """Bad input found by a command: printed as one line, exit code 2."""

    exit_code = BAD_INPUT


class Group(click.Group):
    """A click group whose errors are one line each, never a traceback.

    Usage errors, bad parameters and the library's own ``ValueError``s for bad input (SpecError,
    data errors) are printed as ``bpverify <command>: <problem>`` with exit code 2.
    """

    def main(self, args=None, prog_name=None, standalone_mode=True, **extra):
        try:
            rv = super().main(args, prog_name or "bpverify", standalone_mode=False, **extra)
        except click.exceptions.Exit as e:
            code = e.exit_code
        except click.exceptions.Abort:
            click.echo("bpverify: interrupted", err=True)
            code = 130
        except click.UsageError as e:
            hint = f" (see '{e.ctx.command_path} --help')" if e.ctx else ""
            name = e.ctx.command_path if e.ctx else "bpverify"
            click.echo(f"{name}: {e.format_message()}{hint}", err=True)
            code = BAD_INPUT
        except click.ClickException as e:
            sep = " " if isinstance(e, InputError) else ": "
            click.echo(f"bpverify{sep}{e.format_message()}", err=True)
            code = e.exit_code
        else:
            code = rv if isinstance(rv, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ValueError as e:
            # The library raises ValueError subclasses (SpecError, DataError, ...) for bad input.
            raise InputError(f"{ctx.invoked_subcommand}: {e}") from None


@click.group(name="bpverify", cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bpverify")
def main() -> None:
    """Derive, generate and verify the backpropagation gradients of multilayer networks."""


def _register() -> None:
    from . import check, derive, generate, prove, train

    main.add_command(check.check)
    main.add_command(derive.derive)
    main.add_command(generate.generate)
    main.add_command(prove.prove)
    main.add_command(train.train)


_register()
