"""The HTTP API through TestClient on an app built from test settings."""

import pytest
from fastapi.testclient import TestClient

from rag.interfaces.api import create_app
from rag.pipeline import build_pipeline
from tests.helpers import ARTICLES, make_settings


@pytest.fixture(scope="module")
def client(sample_pipeline):
    with TestClient(create_app(sample_pipeline.settings, sample_pipeline)) as client:
        yield client


def test_answer_returns_cited_sentences(client):
    response = client.post(
        "/v1/answer", json={"question": "Who is the UN special envoy for Syria?"}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"answer", "abstained", "sentences", "sources", "timings"}
    assert "Pedersen" in body["answer"] and not body["abstained"]
    citation = body["sentences"][0]["citations"][0]
    assert set(citation) == {"file", "chunk_id", "start", "end", "line", "quote", "score"}
    text = (ARTICLES / citation["file"]).read_text(encoding="utf-8")
    assert text[citation["start"] : citation["end"]] == citation["quote"]
    assert {s["file"] for s in body["sources"]} == {
        c["file"] for s in body["sentences"] for c in s["citations"]
    }


def test_answer_with_filters_and_top_k(client):
    response = client.post(
        "/v1/answer",
        json={
            "question": "How far did the insurgents retreat from Hama?",
            "top_k": 3,
            "filters": {"outlets": ["AP"]},
        },
    )
    files = {c["file"] for s in response.json()["sentences"] for c in s["citations"]}
    assert files == {"003_82cead1f1c9ff3e4.txt"}


def test_unanswerable_question_abstains(client):
    body = client.post("/v1/answer", json={"question": "Who won the 2022 FIFA World Cup?"}).json()
    assert body["abstained"] and body["answer"] == "The sources do not say."


@pytest.mark.parametrize(
    "payload, status, message",
    [
        ({"question": ""}, 400, "empty"),
        ({"question": "   "}, 400, "empty"),
        ({"question": "x" * 5000}, 400, "limit"),
        ({}, 422, "question: Field required"),
        ({"question": 42}, 422, "question"),
        ({"question": "Who?", "top_k": 0}, 422, "top_k"),
        ({"question": "Who?", "mode": "magic"}, 422, "mode"),
        ({"question": "Who?", "filters": {"date_from": "yesterday"}}, 422, "date_from"),
    ],
)
def test_bad_requests_get_a_4xx_that_says_what_is_wrong(client, payload, status, message):
    response = client.post("/v1/answer", json=payload)
    assert response.status_code == status
    assert message in response.json()["detail"]


def test_malformed_json_is_a_422(client):
    response = client.post(
        "/v1/answer", content=b'{"question": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and "JSON" in response.json()["detail"]


def test_documents_list_and_text_with_highlights(client):
    docs = client.get("/v1/documents").json()
    assert [d["file"] for d in docs] == sorted(p.name for p in ARTICLES.iterdir())
    assert {d["outlet"] for d in docs} >= {"AP", "Times of Oman"}
    one = client.get("/v1/documents/003_82cead1f1c9ff3e4.txt", params={"highlight": "33-60"})
    assert one.status_code == 200
    assert one.json()["text"] == (ARTICLES / "003_82cead1f1c9ff3e4.txt").read_text()
    assert one.json()["highlights"] == [[33, 60]]


@pytest.mark.parametrize(
    "path, status",
    [
        ("/v1/documents/nope.txt", 404),
        ("/v1/documents/../secrets.txt", 404),
        ("/v1/documents/..%2F..%2Fetc%2Fpasswd", 400),
        ("/v1/documents/003_82cead1f1c9ff3e4.txt?highlight=9-1", 400),
    ],
)
def test_unknown_files_and_escaping_paths_are_refused(client, path, status):
    assert client.get(path).status_code == status


def test_health_readiness_and_docs(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["chunks"] > 0
    assert client.get("/docs").status_code == 200
    assert "/v1/answer" in client.get("/openapi.json").json()["paths"]


def test_upload_then_answer_then_delete(tmp_path):
    settings = make_settings(tmp_path / "rag")
    with TestClient(create_app(settings, build_pipeline(settings))) as client:
        note = b"The mayor of Testville, Ada Quill, opened the new bridge on Monday.\n"
        response = client.post(
            "/v1/documents", files=[("files", ("testville.txt", note, "text/plain"))]
        )
        assert response.status_code == 200 and response.json()["added"] == ["testville.txt"]
        answer = client.post(
            "/v1/answer", json={"question": "Who is the mayor of Testville?"}
        ).json()
        assert "Ada Quill" in answer["answer"]
        bad = client.post(
            "/v1/documents", files=[("files", ("x.pdf", b"%PDF-1.4", "application/pdf"))]
        )
        assert bad.status_code == 400 and ".txt" in bad.json()["detail"]
        binary = client.post(
            "/v1/documents", files=[("files", ("b.txt", b"\x00\x01" * 50, "text/plain"))]
        )
        assert binary.status_code == 400 and "binary" in binary.json()["detail"]
        assert client.delete("/v1/documents/testville.txt").json()["chunks_deleted"] == 1
        assert client.get("/v1/documents").json() == []
        assert client.delete("/v1/documents/testville.txt").status_code == 404


def test_bearer_token_guards_every_api_route(sample_pipeline):
    settings = sample_pipeline.settings.model_copy(update={"api_key": "s3cret"})
    with TestClient(create_app(settings, sample_pipeline)) as client:
        ask = {"question": "Who is the UN special envoy for Syria?"}
        assert client.post("/v1/answer", json=ask).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert client.post("/v1/answer", json=ask, headers=wrong).status_code == 401
        assert client.get("/v1/documents", headers=wrong).status_code == 401
        right = {"Authorization": "Bearer s3cret"}
        assert client.post("/v1/answer", json=ask, headers=right).status_code == 200
        assert client.get("/healthz").status_code == 200
        assert "s3cret" not in client.post("/v1/answer", json=ask).text


def test_a_dead_llm_is_a_503_with_the_sources(sample_pipeline):
    from tests.helpers import free_port

    settings = sample_pipeline.settings.model_copy(
        update={"llm_base_url": f"http://127.0.0.1:{free_port()}/v1", "llm_max_retries": 0}
    )

    pipeline = build_pipeline(settings, sample_pipeline.store, sample_pipeline.embedder)
    with TestClient(create_app(settings, pipeline)) as client:
        response = client.post(
            "/v1/answer", json={"question": "Who is the UN special envoy for Syria?", "mode": "llm"}
        )
    assert response.status_code == 503
    assert response.json()["sources"] and "LLM" in response.json()["detail"]
