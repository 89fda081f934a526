import json
import re
from importlib.resources import files

import pytest

pytest.importorskip("fastapi")

from fastapi import HTTPException

from bpverify.cli.serve import jobs, page
from bpverify.derive import ACTIVATIONS, LOSSES

STATIC = files("bpverify.cli.serve") / "static"


def test_the_page_embeds_the_librarys_tables():
    html = page.index()
    data = json.loads(re.search(r'id="tables">(.*?)</script>', html).group(1))
    assert data["activations"] == list(ACTIVATIONS) and data["losses"] == list(LOSSES)
    assert data["defaults"]["claim"] == jobs.SEED_CLAIM


def test_nothing_is_loaded_from_another_host():
    for name in ["index.html", *page.STATIC]:
        text = (STATIC / name).read_text()
        assert not re.search(r"(src|href)=\"(https?:)?//|url\(|@import|https?://", text), name


def test_every_control_has_a_label_and_the_verdict_is_announced():
    html = (STATIC / "index.html").read_text()
    for control in re.findall(r'<(?:input|select|textarea) id="([^"]+)"', html):
        assert f'for="{control}"' in html, control
    assert re.search(r'id="verdict"[^>]*aria-live="polite"', html)
    assert 'name="viewport"' in html


def test_only_the_listed_static_files_are_served():
    assert page.static("page.js").media_type == "text/javascript"
    with pytest.raises(HTTPException):
        page.static("../app.py")


def test_the_api_docs_page_lists_each_route_and_its_fields():
    schema = {
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/api/x": {
                "post": {
                    "description": "does x",
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/c/X"}}}},
                }
            }
        },
        "components": {"schemas": {"X": {"properties": {"claim": {"type": "string"}}}}},
    }
    html = page.api_docs(schema)
    assert "POST /api/x" in html and "<code>claim</code>" in html and "required" in html
