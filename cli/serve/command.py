"""``bpverify serve``: the API and the web page, from the optional ``serve`` extra."""

from __future__ import annotations

from importlib.util import find_spec

import click

from ..options import library

SETTINGS = "bpverify.cli.serve.settings:Settings"
NEEDS = ("fastapi", "uvicorn", "latex2mathml")
"""The modules of the ``serve`` extra."""


def _setting(flag: str, field: str, kind: click.ParamType, help_text: str, metavar=None):
    """An option that sets the field ``field`` of ``Settings``, with its default there."""
    return click.option(
        f"--{flag}",
        field,
        type=kind,
        default=library(f"{SETTINGS}.{field}"),
        metavar=metavar,
        show_default=True,
        help=help_text,
    )


def _seconds(flag: str, field: str, help_text: str):
    return _setting(flag, field, click.FloatRange(0, 86400, min_open=True), help_text, "SECONDS")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@_setting(
    "workers",
    "workers",
    click.IntRange(1, 256),
    "Worker processes for the symbolic work (one request each at a time).",
)
@_seconds("timeout", "prove_seconds", "Seconds one claim may take; past them it is UNDECIDED.")
@_seconds(
    "build-timeout",
    "build_seconds",
    "Seconds one derive, generate or check may take; past them: 503.",
)
@click.option(
    "--memory",
    "memory_mib",
    type=click.IntRange(min=64),
    default=None,
    metavar="MIB",
    help="MiB each worker may take beyond its start (default: BPVERIFY_MAX_MEMORY, 4096).",
)
@_setting(
    "queue",
    "queue",
    click.IntRange(min=0),
    "Requests that may wait for a worker; one more is answered 503 with Retry-After.",
)
@_seconds(
    "queue-timeout",
    "queue_seconds",
    "Seconds a request waits for a worker before it is answered 503.",
)
@_seconds(
    "demote-after",
    "demote_seconds",
    "Seconds after which a claim runs at the lowest CPU priority, so short requests go first.",
)
@_setting(
    "max-body",
    "max_body",
    click.IntRange(min=1024),
    "Largest request body; a larger one is answered 413.",
    "BYTES",
)
@_setting("cache", "cache", click.IntRange(min=1), "Derivations kept in memory, by network.")
def serve(host, port, **fields):
    """Serve the JSON API and the web page (needs: pip install "bpverify[serve]").

    \b
    The page is at http://HOST:PORT/, the API under /api and its docs at /docs. Every
    derivation, proof and check runs in a worker process on a budget of time and memory.

    \b
    Example:
      bpverify serve --port 8000
    """
    missing = [name for name in NEEDS if find_spec(name) is None]
    if missing:
        from bpverify.derive import InputError

        raise InputError(f'{", ".join(missing)} not installed: pip install "bpverify[serve]"')
    import uvicorn

    from .app import create_app
    from .settings import Settings

    settings = Settings(**fields)  # each option is named after its field
    click.echo(f"bpverify serve: http://{host}:{port}/ (API docs: /docs); Ctrl-C stops", err=True)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
