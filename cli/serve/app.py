"""The web application: the JSON API under /api, the page at /, the API's docs at /docs.

``create_app(settings)`` makes a FastAPI app with its own worker pool (``pool``) and cache
(``cache``); every route parses its body (``models``), turns the network into a ``NetworkSpec``
here, and runs the symbolic work in a worker (``jobs``) on its budget. Failures are answered by
``errors``: JSON naming the field and the fix, never a traceback.

Example (a server for the default settings; ``bpverify serve`` runs it):
    >>> app = create_app()  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import FastAPI, Response
from fastapi.responses import HTMLResponse, JSONResponse

from bpverify.derive import InputError
from bpverify.derive.report import FORM_CHOICES
from bpverify.derive.unrolled import check_size

from . import jobs, page
from .cache import Cache
from .errors import HANDLERS, Guard
from .models import CheckRequest, ClaimRequest, DeriveRequest, GenerateRequest, ProveRequest
from .pool import Pool
from .settings import Settings

BUILD = "bpverify serve --build-timeout"
"""The option that raises the budget of derive, generate and check (a claim's: --timeout)."""

PREVIEW_SECONDS = 5.0
"""The most a live preview of a claim may take (less when the prove budget is less)."""


def _call(worker, fn, *args):
    return worker.call(fn, *args)


def _json(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application for ``settings`` (default: ``Settings()``). Its pool starts with the
    app (the lifespan) and stops with it."""
    settings = settings or Settings()
    pool = Pool(settings.workers, settings.memory_mib, settings.queue, settings.queue_seconds)
    cache = Cache(settings.cache)

    async def build(job, *args, what: str):
        """A derive, generate or check ``job(*args)`` in a worker, on the build budget."""
        return await pool.run(
            _call, job, *args, seconds=settings.build_seconds, what=what, option=BUILD
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(pool.start)
        try:
            yield
        finally:
            pool.close()

    app = FastAPI(
        title="bpverify",
        version=version("bpverify"),
        description="Derive, prove, generate and check the backpropagation gradients of a "
        "multilayer network. Every answer carries the fields of the command's JSON output.",
        lifespan=lifespan,
        docs_url=None,  # the docs page is served from here, not from a CDN (page.api_docs)
        redoc_url=None,
        exception_handlers=HANDLERS,  # type: ignore[arg-type]
    )
    app.add_middleware(Guard, max_body=settings.max_body)
    app.state.pool, app.state.cache, app.state.settings = pool, cache, settings

    @app.get("/api/health")
    async def health() -> dict:
        """The server is up: its version, workers, the requests running and waiting."""
        return {
            "status": "ok",
            "version": app.version,
            "workers": pool.size,
            "running": pool.running,
            "waiting": pool.waiting,
            "cached": len(cache),
        }

    @app.post("/api/derive")
    async def derive(body: DeriveRequest) -> Response:
        """`bpverify derive --format json`: one record per layer, quantity and form, and
        the self-check; with every row as LaTeX and MathML (`sections`), the LaTeX block and
        the LaTeX document. A network derived before is answered from memory (header
        X-Cache: hit)."""
        spec = body.network.spec()
        if body.form not in FORM_CHOICES:
            raise InputError(f"unknown form {body.form!r}: choose one of {', '.join(FORM_CHOICES)}")
        key = (spec, body.form, body.verify)
        answer, state = cache.get(key), "hit"
        if answer is None:
            if body.form == "unrolled":
                check_size(spec)
            record = await build(
                jobs.derivation, spec, body.form, body.verify, what="the derivation"
            )
            answer, state = _json(record), "miss"
            cache.put(key, answer)
        return Response(answer, media_type="application/json", headers={"X-Cache": state})

    @app.post("/api/prove")
    async def prove(body: ProveRequest) -> JSONResponse:
        """`bpverify prove --json`: PROVED, REFUTED (with the counterexample and the hint) or
        UNDECIDED (with the reason: also when the claim runs past its budget)."""
        spec = body.network.spec()
        verdict = await pool.run(
            jobs.proof,
            spec,
            body.wrt,
            body.claim,
            body.points,
            body.seed,
            seconds=settings.prove_seconds,
            what="the proof",
            demote=settings.demote_seconds,
        )
        return JSONResponse(verdict)

    @app.post("/api/preview")
    async def preview(body: ClaimRequest) -> JSONResponse:
        """The claim as the prover reads it, as LaTeX and MathML (the page's live preview)."""
        spec = body.network.spec()
        seen = await pool.run(
            _call,
            jobs.preview,
            spec,
            body.wrt,
            body.claim,
            seconds=min(PREVIEW_SECONDS, settings.prove_seconds),
            what="the preview",
            demote=settings.demote_seconds,
        )
        return JSONResponse(seen)

    @app.post("/api/generate")
    async def generate(body: GenerateRequest) -> JSONResponse:
        """`bpverify generate`: the NumPy module of forward, loss and gradients."""
        spec = body.network.spec()
        module = await build(jobs.code, spec, what="the code generation")
        return JSONResponse(module)

    @app.post("/api/check")
    async def check(body: CheckRequest) -> JSONResponse:
        """`bpverify check --json` of the generated code (never of code sent here): symbolic,
        generated and finite-difference gradients compared."""
        spec, options = body.network.spec(), body.options()
        report = await build(jobs.check, spec, options, what="the check")
        return JSONResponse(report)

    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(page.index(), headers=page.HEADERS)

    @functools.cache  # the schema is fixed once the routes are
    def docs_page() -> str:
        return page.api_docs(app.openapi())

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(docs_page(), headers=page.HEADERS)

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        return page.static(name)

    return app
