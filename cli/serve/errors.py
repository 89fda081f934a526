"""How every failure of a request is answered: JSON naming the field and the fix, never a 500
with a traceback.

=============================  ======  ========================================================
failure                        status  answer
=============================  ======  ========================================================
body not JSON                  400     where it stops being JSON, and an example body
field missing, of a wrong      422     the field's path and an example value (``EXAMPLES``)
type, or unknown
the library refuses the input  422     its message (``InputError``: it names the fix) and the
                                       field it is about
body over ``max_body`` bytes   413     the limit and what to send instead
a job past its time or memory  503     the budget (``BudgetError``); prove answers UNDECIDED
no worker free in time         503     with ``Retry-After`` (``pool.Busy``)
anything else                  500     one line naming the exception, no traceback
=============================  ======  ========================================================

Every answer is ``{"error": ..., "field": ..., "message": ...}`` (``field`` null when the
failure is not about one field).
"""

from __future__ import annotations

import logging
import re

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bpverify.derive import InputError
from bpverify.derive.budget import BudgetError

from .models import EXAMPLES
from .pool import Busy

log = logging.getLogger("bpverify.serve")

EXAMPLE_BODY = '{"network": {"layers": 3}}'
_FLAG = re.compile(r"--([a-z0-9-]+)|\b([a-z][a-z0-9_]*)\b")


def answer(status: int, error: str, message: str, field: str | None = None, **headers: str):
    """The JSON error answer."""
    body = {"error": error, "field": field, "message": message}
    return JSONResponse(body, status_code=status, headers=headers or None)


def field_of(message: str, default: str | None) -> str | None:
    """The field a library message is about: the first option (``--widths``) or field name it
    mentions, else ``default``."""
    for m in _FLAG.finditer(message):
        name = _field_name(m.group(1) or m.group(2))
        if name in EXAMPLES and (m.group(1) or name != "network"):
            return name
    return default


def _path(loc) -> str:
    return ".".join(str(part) for part in loc if part != "body") or "body"


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """A body that is not JSON (400), or whose fields are missing, mistyped or unknown (422)."""
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    where = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if where is not None:
        position = where.get("loc", ("body", 0))[-1]
        return answer(
            400,
            "invalid JSON",
            f"the body is not JSON (it stops being JSON at character {position}): send a JSON "
            f"object such as {EXAMPLE_BODY} with content-type application/json",
            "body",
        )
    problems, seen = [], set()
    for e in errors:
        loc = tuple(p for p in e.get("loc", ()) if p != "body")
        kind = e.get("type", "")
        names = [p for p in loc if isinstance(p, str) and p in EXAMPLES]
        field = names[-1] if names else (loc[0] if loc else "body")
        end = len(loc) if kind == "extra_forbidden" or field not in loc else loc.index(field) + 1
        path = _path(loc[:end])
        if path in seen:  # a union (widths: text or list) fails once per member: name it once
            continue
        seen.add(path)
        if kind == "extra_forbidden":
            problems.append((path, f"{path}: unknown field: remove it (or check its spelling)"))
        elif kind == "missing" and not loc:
            problems.append(
                ("body", f"the body is missing: send a JSON object such as {EXAMPLE_BODY}")
            )
        else:
            fix = EXAMPLES.get(str(field))
            hint = f": give e.g. {path.split('.')[-1]}: {fix}" if fix else f": send {EXAMPLE_BODY}"
            problems.append((path, f"{path}: {e.get('msg', 'invalid')}{hint}"))
    field, message = problems[0]
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more: " + "; ".join(p for _, p in problems[1:])
        message += ")"
    return answer(422, "invalid request", message, field)


async def input_error(request: Request, exc: Exception) -> JSONResponse:
    """Input the library refuses (422, naming the field), or a job past its budget (503)."""
    assert isinstance(exc, InputError)
    message = " ".join(str(exc).split())
    if isinstance(exc, BudgetError):
        return answer(503, f"over the {exc.kind} budget", message, None, **{"Retry-After": "1"})
    claim = request.url.path in ("/api/prove", "/api/preview")
    field = field_of(message, "claim" if claim else "network")
    return answer(422, "bad input", _OPTION.sub(_as_field, message), field)


_OPTION = re.compile(r"--([a-z0-9-]+)")


def _as_field(m: re.Match) -> str:
    """A command-line option in a library message as the API's field of the same meaning
    (--leaky-slope: leaky_slope); other text stays."""
    name = _field_name(m.group(1))
    return name if name in EXAMPLES else m.group(0)


def _field_name(option: str) -> str:
    """The API field of a command-line option's name (leaky-slope: leaky_slope; activation:
    activations)."""
    name = option.replace("-", "_")
    return "activations" if name == "activation" else name


async def busy(request: Request, exc: Exception) -> JSONResponse:
    """No worker free in time, or the queue full: 503, and when to come back."""
    assert isinstance(exc, Busy)
    return answer(503, "busy", str(exc), None, **{"Retry-After": str(exc.retry_after)})


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own errors (404, 405) in the same shape."""
    assert isinstance(exc, HTTPException)
    if isinstance(exc.__cause__, TooLarge):  # FastAPI wraps what reading the body raised
        return too_large(exc.__cause__.limit)
    detail = str(exc.detail)
    if exc.status_code == 404:
        detail = f"no such page {request.url.path}: the API is under /api (see /docs)"
    elif exc.status_code == 405:
        detail = f"{request.method} is not accepted at {request.url.path}: see /docs"
    return answer(exc.status_code, "http", detail, None, **(exc.headers or {}))


HANDLERS = {
    RequestValidationError: validation_error,
    InputError: input_error,
    Busy: busy,
    HTTPException: http_error,
}
"""The exception handlers of the app, by the exception they answer."""


class TooLarge(Exception):
    """A body that grew past ``limit`` bytes as it arrived."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


def too_large(limit: int) -> JSONResponse:
    """The 413 answer."""
    return answer(
        413,
        "body too large",
        f"the body is larger than the {limit} bytes accepted: send one claim or network per "
        "request",
        "body",
    )


class Guard:
    """ASGI middleware: bodies larger than ``max_body`` bytes are refused (413, by their
    Content-Length or as they arrive), and an exception no handler answered becomes a one-line
    500 in JSON (logged here with its traceback, never sent)."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app, self.max_body = app, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        length = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.max_body:
            await self._send(send, too_large(self.max_body))
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                raise TooLarge(self.max_body)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, tracked)
        except TooLarge:
            if not started:
                await self._send(send, too_large(self.max_body))
        except Exception as e:
            log.exception("internal error")
            if not started:
                message = " ".join(f"{type(e).__name__}: {e}".split())[:300]
                await self._send(send, answer(500, "internal error", message))

    @staticmethod
    async def _send(send: Send, response: JSONResponse) -> None:
        await response({"type": "http"}, _nothing, send)


async def _nothing() -> Message:
    return {"type": "http.disconnect"}
