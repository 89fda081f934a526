"""The API in-process (FastAPI's TestClient): every endpoint answers with the command's JSON
fields; bad bodies get a 4xx naming the field; a hostile claim is UNDECIDED at its budget while
other requests go on; a full queue is 503 with Retry-After; a repeated derive comes from memory."""

import threading

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx2")

from fastapi.testclient import TestClient

from bpverify.cli.serve.app import create_app
from bpverify.cli.serve.models import Network
from bpverify.cli.serve.pool import Busy
from bpverify.cli.serve.settings import Settings
from bpverify.derive.budget import BudgetError

SEED_W3 = "a^(2)_k * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)"
# A power of a power of six quantities inside the limits (8128 terms written out): about 3 s of
# SymPy before it is refuted, many times the hostile app's budget.
HOSTILE = "((a^(1)_k + a^(2)_k + a^(3)_j + y_j + z^(3)_j + b^(3)_j)^4 + 1)^2"
NET3 = {"layers": 3}


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(Settings(workers=2, prove_seconds=60, max_body=4096))) as c:
        yield c


@pytest.fixture(scope="module")
def tight():
    """Two workers, no queue, a claim budget far below what HOSTILE needs."""
    settings = Settings(workers=2, queue=0, prove_seconds=0.2, build_seconds=60)
    with TestClient(create_app(settings)) as c:
        yield c


def post(client, path, body):
    return client.post(path, json=body)


def test_health(client):
    r = client.get("/api/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["workers"] == 2


def test_prove_answers_the_verdict_json_of_the_command(client):
    r = post(client, "/api/prove", {"network": NET3, "wrt": "w^(3)_jk", "claim": SEED_W3})
    assert r.status_code == 200, r.text
    v = r.json()
    assert v["status"] == "PROVED" and v["of"] == "C_0" and v["wrt"] == "w^(3)_jk"
    assert set(v) >= {"message", "truth", "hint", "counterexample", "points", "notes"}
    r = post(
        client,
        "/api/prove",
        {"network": NET3, "claim": "dC_0/dw^(3)_jk = a^(2)_k * 2*(a^(3)_j - y_j)"},
    )
    v = r.json()
    assert v["status"] == "REFUTED" and "sigma' is missing" in v["hint"] and v["counterexample"]


def test_derive_carries_the_records_of_derive_json_and_a_repeat_comes_from_memory(client):
    body = {"network": {"layers": 1, "cost": "sum", "l2": 0.5}, "form": "matrix"}
    first = post(client, "/api/derive", body)
    assert first.status_code == 200, first.text
    assert first.headers["x-cache"] == "miss"
    d = first.json()
    assert d["network"]["cost"] == "sum" and d["network"]["l2"] == "1/2"
    assert {g["form"] for g in d["gradients"]} == {"matrix"} and d["verification"]["ok"]
    row = d["sections"][2]["rows"][0]
    assert row["mathml"].startswith("<math") and row["latex"] in d["latex"]
    assert d["document"].startswith(r"\documentclass")
    again = post(client, "/api/derive", body)
    assert again.headers["x-cache"] == "hit" and again.json() == d
    # derive's own network record reads back as the request's network
    assert (
        post(client, "/api/derive", {**body, "network": d["network"]}).headers["x-cache"] == "hit"
    )


def test_generate_and_check_of_the_generated_code(client):
    r = post(client, "/api/generate", {"network": {"widths": [2, 3, 1]}})
    assert r.status_code == 200 and "def gradients(" in r.json()["source"]
    body = {"network": {"widths": "2,3,1", "activations": "tanh"}, "points": 1}
    r = post(client, "/api/check", body)
    assert r.status_code == 200, r.text
    assert r.json()["passed"] and r.json()["reports"][0]["candidate"] == "generated"


def test_preview_reads_the_claim_back_as_mathml(client):
    r = post(client, "/api/preview", {"network": NET3, "wrt": "w^(3)_jk", "claim": SEED_W3})
    assert r.status_code == 200, r.text
    assert r.json()["latex"].startswith(r"\frac{\partial C_0}{\partial w^{(3)}_{jk}} =")
    assert "<math" in r.json()["mathml"]
    r = post(client, "/api/preview", {"network": NET3, "claim": "dC/dW^(3) = delta^(3) a^(2)T"})
    assert r.json()["wrt"] == "W^(3)"


@pytest.mark.parametrize(
    "path, body, status, field, fix",
    [
        ("/api/prove", {"network": {"layers": "three"}, "claim": "x"}, 422, "network.layers", "3"),
        ("/api/prove", {"network": NET3}, 422, "claim", "sigma'"),
        ("/api/prove", {"claim": SEED_W3}, 422, "network", '{"layers": 3}'),
        (
            "/api/derive",
            {"network": {"layers": 3, "activaton": "tanh"}},
            422,
            "network.activaton",
            "remove it",
        ),
        ("/api/derive", {"network": {"widths": "2,0,1"}}, 422, "widths", "widths: width '0'"),
        ("/api/derive", {"network": {"layers": 2, "loss": "l1"}}, 422, "loss", "choose one of"),
        ("/api/derive", {"network": NET3, "form": "tensor"}, 422, "form", "choose one of"),
        ("/api/check", {"network": {"widths": "2,1"}, "dtype": "float16"}, 422, "dtype", "float64"),
        (
            "/api/prove",
            {"network": NET3, "wrt": "w^(3)_jk", "claim": "a^(2)_k * (y_j"},
            422,
            "claim",
            "close every bracket",
        ),
        ("/api/derive", [], 422, "body", '{"network"'),
    ],
)
def test_a_malformed_body_gets_a_4xx_naming_the_field_and_the_fix(
    client, path, body, status, field, fix
):
    r = post(client, path, body)
    assert r.status_code == status, r.text
    assert r.json()["field"] == field and fix in r.json()["message"], r.json()


def test_a_body_that_is_not_json_or_too_large(client):
    r = client.post(
        "/api/derive", content=b'{"network": ', headers={"content-type": "application/json"}
    )
    assert (
        r.status_code == 400 and r.json()["field"] == "body" and "not JSON" in r.json()["message"]
    )
    r = post(client, "/api/prove", {"network": NET3, "claim": "x" * 5000})
    assert r.status_code == 413 and "4096 bytes" in r.json()["message"]

    def chunks():  # no Content-Length: counted as it arrives
        yield b'{"claim": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    r = client.post("/api/prove", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_unknown_pages_and_methods_answer_json(client):
    assert client.get("/api/nothing").json()["error"] == "http"
    r = client.get("/api/prove")
    assert (
        r.status_code == 405 and "POST" not in r.json()["message"] and "GET" in r.json()["message"]
    )


def test_an_unexpected_error_is_one_line_of_json_not_a_traceback(client, monkeypatch):
    def broken(self):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(Network, "spec", broken)
    r = post(client, "/api/generate", {"network": {"layers": 1}})
    assert r.status_code == 500
    assert r.json() == {"error": "internal error", "field": None, "message": r.json()["message"]}
    assert "Traceback" not in r.text and "ZeroDivisionError" in r.text


def test_the_openapi_schema_and_docs_page(client):
    schema = client.get("/openapi.json").json()
    assert {"/api/derive", "/api/prove", "/api/generate", "/api/check", "/api/health"} <= set(
        schema["paths"]
    )
    page = client.get("/docs").text
    assert "POST /api/prove" in page and "network.widths" in page and "//cdn" not in page


def test_a_hostile_claim_is_undecided_at_its_budget_while_others_go_on(tight):
    answers = {}

    def hostile():
        body = {"network": NET3, "wrt": "w^(3)_jk", "claim": HOSTILE}
        answers["hostile"] = post(tight, "/api/prove", body)

    t = threading.Thread(target=hostile)
    t.start()
    r = post(tight, "/api/derive", {"network": {"layers": 1}, "verify": False})
    assert r.status_code == 200 and r.json()["gradients"]
    t.join()
    v = answers["hostile"].json()
    assert v["status"] == "UNDECIDED" and "0.2 s budget" in v["message"], v
    r = post(tight, "/api/generate", {"network": {"layers": 1}})  # its worker was replaced
    assert r.status_code == 200


def test_a_full_pool_answers_503_with_retry_after(tight, monkeypatch):
    # the pool's own test fills it for real (tests/cli/serve/test_pool.py); here, the answer
    async def full(*args, **kwargs):
        raise Busy("all 2 workers are busy and 0 requests wait: retry in 1 s", 1)

    monkeypatch.setattr(tight.app.state.pool, "run", full)
    r = post(tight, "/api/derive", {"network": {"layers": 2}})
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert r.json()["error"] == "busy" and "retry in 1 s" in r.json()["message"]


def test_a_derivation_past_its_budget_is_503_naming_the_option(tight, monkeypatch):
    message = (
        "the derivation did not finish within the 60 s budget (bpverify serve --build-timeout 60)"
    )

    async def slow(*args, **kwargs):
        raise BudgetError(message, "time")

    monkeypatch.setattr(tight.app.state.pool, "run", slow)
    r = post(tight, "/api/derive", {"network": {"layers": 2}})
    assert r.status_code == 503 and r.json()["message"] == message


def test_the_page_and_its_files_forbid_other_hosts(client):
    for path in ("/", "/docs", "/static/page.js", "/static/page.css"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-security-policy"].startswith("default-src 'self'"), path
    assert 'id="tables"' in client.get("/").text
    assert client.get("/static/app.py").status_code == 404
