"""The web page at / and the API's docs page at /docs, both served from here: plain HTML, CSS
and JavaScript written for bpverify (``static/``), nothing loaded from another host, so the
page works offline. The mathematics arrives from the API as MathML, which browsers render.
"""

from __future__ import annotations

import json
from functools import cache
from html import escape
from importlib.resources import files

from fastapi import HTTPException, Response

from bpverify.derive import ACTIVATIONS, LOSSES, NetworkSpec
from bpverify.derive.spec import COSTS

from .jobs import SEED_CLAIM

HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
}
"""Sent with the page, the docs page and their files: the browser itself refuses to load or send
anything to another host, so the page stays offline even if a formula or a message carried
markup."""

STATIC = {"page.css": "text/css", "page.js": "text/javascript"}
"""The files of ``static/`` served at /static/NAME, with their content types."""


@cache  # the package's files do not change while it runs
def _read(name: str) -> str:
    return (files(__package__) / "static" / name).read_text(encoding="utf-8")


def tables() -> dict:
    """What the page's form offers: the names of the library's tables and their defaults."""
    return {
        "activations": list(ACTIVATIONS),
        "losses": list(LOSSES),
        "costs": list(COSTS),
        "defaults": {
            "activation": NetworkSpec.activations,
            "loss": NetworkSpec.loss,
            "cost": NetworkSpec.cost,
            "leaky_slope": str(float(NetworkSpec.leaky_slope)),
            "l2": "0",
            "wrt": "w^(3)_jk",
            "claim": SEED_CLAIM,
        },
    }


@cache
def index() -> str:
    """The page, with the tables it offers embedded as JSON."""
    data = json.dumps(tables()).replace("</", "<\\/")
    script = f'<script type="application/json" id="tables">{data}</script>'
    return _read("index.html").replace("<!--TABLES-->", script)


def static(name: str) -> Response:
    """A file of ``static/``; 404 for any other name."""
    if name not in STATIC:
        raise HTTPException(404)
    return Response(_read(name), media_type=STATIC[name], headers=HEADERS)


def _fields(schema: dict, components: dict) -> list[tuple[str, str, str, str]]:
    """(name, type, default, description) of a request body's fields, nested objects inline."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    rows = []
    for name, field in schema.get("properties", {}).items():
        if "$ref" in field:
            rows += [(f"{name}.{n}", t, d, m) for n, t, d, m in _fields(field, components)]
            continue
        kinds = [f.get("type", "object") for f in field.get("anyOf", [field])]
        default = json.dumps(field["default"]) if "default" in field else "required"
        rows.append((name, " or ".join(kinds), default, field.get("description", "")))
    return rows


def api_docs(openapi: dict) -> str:
    """The API's docs page, made from its OpenAPI schema (also served at /openapi.json)."""
    components = openapi.get("components", {}).get("schemas", {})
    parts = []
    for path, methods in openapi.get("paths", {}).items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            rows = _fields(body.get("schema", {}), components) if body else []
            table = "".join(
                f"<tr><td><code>{escape(n)}</code></td><td>{escape(t)}</td>"
                f"<td><code>{escape(d)}</code></td><td>{escape(desc)}</td></tr>"
                for n, t, d, desc in rows
            )
            parts.append(
                f"<section><h2><code>{method.upper()} {escape(path)}</code></h2>"
                f"<p>{escape(op.get('description') or op.get('summary', ''))}</p>"
                + (
                    "<table><thead><tr><th>field</th><th>type</th><th>default</th>"
                    f"<th>meaning</th></tr></thead><tbody>{table}</tbody></table>"
                    if rows
                    else ""
                )
                + "</section>"
            )
    title = escape(f"{openapi['info']['title']} {openapi['info']['version']} API")
    about = escape(openapi["info"].get("description", ""))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{title}</title><link rel="stylesheet" href="/static/page.css"></head>'
        f'<body class="docs"><main><h1>{title}</h1><p>{about} '
        'The schema: <a href="/openapi.json">/openapi.json</a>. The page: <a href="/">/</a>.'
        f"</p>{''.join(parts)}</main></body></html>"
    )
