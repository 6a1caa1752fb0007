"""Bad questions and awkward files: a clean answer or a clear 4xx, never a 500 or a mixed index."""

import hashlib
import json
import shutil
import unicodedata

import pytest
from fastapi.testclient import TestClient

import rag.ingest.loaders
from rag.core.errors import BadInput
from rag.ingest.chunking import chunk_document
from rag.ingest.loaders import SkipFile, load_document
from rag.interfaces.api import create_app
from rag.pipeline import build_pipeline

ENVOY = "Who is the UN special envoy for Syria?"


@pytest.fixture(scope="module")
def client(sample_pipeline):
    app = create_app(sample_pipeline.settings, pipeline=sample_pipeline)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def post_json(client: TestClient, path: str, body: object):
    """Post body as JSON text, so lone surrogates ("\\ud800") arrive as JSON escapes."""
    data = json.dumps(body).encode("ascii")
    return client.post(path, content=data, headers={"content-type": "application/json"})


def assert_clean_answer(pipeline, body: dict) -> None:
    """A well-formed answer: no control characters echoed, every citation quoting its file."""
    assert not [ch for ch in body["question"] if unicodedata.category(ch) in ("Cc", "Cs")]
    if body["abstained"]:
        assert body["answer"] == "The sources do not say."
        assert not [s for s in body["sentences"] if s["supported"]]
        return
    for sentence in body["sentences"]:
        if sentence["supported"]:
            assert sentence["citations"] and sentence["text"] in body["answer"]
        for c in sentence["citations"]:
            text, _ = pipeline.document(c["file"])
            assert text[c["start"] : c["end"]] == c["quote"]


@pytest.mark.parametrize(
    "question",
    [
        "Who is the UN\x00special envoy for Syria?",
        "\x1b[31mWho is the UN special envoy for Syria?\x1b[0m",
        "Who is the UN special envoy for Syria?\x1b]0;pwned\x07",
        "Who\x07 is\x7f the\x85 UN\tspecial\r\nenvoy for Syria?\x08",
        "Who is the UN special envoy for Syria?\ud800",
    ],
    ids=["nul", "ansi-colour", "osc-title", "bell-del-c1-tab-crlf", "lone-surrogate"],
)
def test_control_characters_are_cleaned_out_of_the_question(client, sample_pipeline, question):
    plain = post_json(client, "/v1/answer", {"question": ENVOY}).json()
    response = post_json(client, "/v1/answer", {"question": question})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["question"] == ENVOY  # the escape sequences went whole, not "[31m" left behind
    assert body["answer"] == plain["answer"] and "Pedersen" in body["answer"]
    assert_clean_answer(sample_pipeline, body)


@pytest.mark.parametrize(
    "question", ["\x00\x01\x02", "\x1b[2J\x1b[H", "\udfff\ud800", "\x85\x9f\x7f", "\u2028\u3000"]
)
@pytest.mark.parametrize("stream", [False, True])
def test_a_question_of_control_characters_only_is_a_400(client, question, stream):
    response = post_json(client, "/v1/answer", {"question": question, "stream": stream})
    assert response.status_code == 400
    assert "empty" in response.json()["detail"]


def test_control_characters_through_the_openai_route_and_the_stream(client):
    question = "\x1b[1mWho is the UN special envoy for Syria?\x1b[0m\x00"
    chat = post_json(
        client,
        "/v1/chat/completions",
        {"model": "citerag", "messages": [{"role": "user", "content": question}]},
    )
    assert chat.status_code == 200 and "Pedersen" in chat.json()["choices"][0]["message"]["content"]
    stream = post_json(client, "/v1/answer", {"question": question, "stream": True})
    assert stream.status_code == 200 and "event: answer" in stream.text
    assert "\\u001b" not in stream.text and "Pedersen" in stream.text


@pytest.mark.parametrize(
    "question",
    [
        "من هو المبعوث الخاص للأمم المتحدة إلى سوريا؟",
        "谁是联合国叙利亚问题特使？",
        "Кто является специальным посланником ООН по Сирии?",
        "Geir Pedersen — كم عمره؟ 他是谁？ Кто он?",
    ],
    ids=["arabic", "chinese", "russian", "mixed"],
)
def test_questions_in_other_languages_get_an_abstention_or_a_cited_answer(
    client, sample_pipeline, question
):
    response = post_json(client, "/v1/answer", {"question": question})
    assert response.status_code == 200, response.text
    assert response.json()["question"] == question
    assert_clean_answer(sample_pipeline, response.json())


@pytest.mark.parametrize(
    "question",
    [
        "Who is the envoy? " * 600,  # 10,800 characters of words
        "\x00" * 10_000 + ENVOY,  # cleaning must not shrink it under the limit first
    ],
    ids=["words", "padded-with-nul"],
)
def test_a_10000_character_question_is_a_400_naming_the_limit(client, sample_pipeline, question):
    with pytest.raises(BadInput, match="limit is 2,000"):
        sample_pipeline.ask(question)
    for path, body in [
        ("/v1/answer", {"question": question}),
        ("/v1/answer", {"question": question, "stream": True}),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": question}]}),
    ]:
        response = post_json(client, path, body)
        assert response.status_code == 400, (path, response.text[:200])
        assert "limit is 2,000" in response.json()["detail"]


@pytest.mark.parametrize("question", ["?", "?!?!...", "¿¡…—–«»", "。，？！", "()[]{}<>", "\u200b?"])
def test_a_question_of_punctuation_only_is_a_400(client, question):
    response = post_json(client, "/v1/answer", {"question": question})
    assert response.status_code == 400
    assert "no words" in response.json()["detail"]


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/v1/answer", {"question": ["Who?"]}, "question"),
        ("/v1/answer", {"question": None}, "question"),
        ("/v1/answer", {"question": True}, "question"),
        ("/v1/answer", {"question": {"text": "Who?"}}, "question"),
        ("/v1/answer", {"question": "Who?", "top_k": "many"}, "top_k"),
        ("/v1/answer", {"question": "Who?", "top_k": 2.5}, "top_k"),
        ("/v1/answer", {"question": "Who?", "filters": []}, "filters"),
        ("/v1/answer", {"question": "Who?", "filters": {"files": "a.txt"}}, "filters.files"),
        ("/v1/answer", {"question": "Who?", "filters": {"outlets": [7]}}, "filters.outlets.0"),
        ("/v1/answer", ["Who?"], "body"),
        ("/v1/chat/completions", {"messages": "Who?"}, "messages"),
        ("/v1/chat/completions", {"messages": [{"content": "Who?"}]}, "messages.0.role"),
        ("/v1/summarize", {"length": "long"}, "length"),
        ("/v1/compare", {"files": "a.txt"}, "files"),
    ],
)
def test_wrong_json_types_are_a_422_naming_the_field(client, path, body, field):
    response = post_json(client, path, body)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"{field}: ")


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    "path, content, headers, field",
    [
        ("/v1/answer", b'{"question": ', {}, "body"),  # no content type: raw bytes reach pydantic
        ("/v1/answer", b"\xff\xfe\x00", {}, "body"),
        ("/v1/answer", b'{"question": "Who?"}', {"content-type": "text/plain"}, "body"),
        (
            "/v1/answer",
            b"question=Who",
            {"content-type": "application/x-www-form-urlencoded"},
            "body",
        ),
        ("/v1/answer", b'{"question": "Who?", "top_k": 1e999}', JSON, "top_k"),  # inf
        ("/v1/answer", b'{"question": "Who?", "top_k": NaN}', JSON, "top_k"),
        ("/v1/chat/completions", b'{"question": "\\ud800"}', JSON, "messages"),
        ("/v1/summarize", b'{"length": "\\udfff"}', JSON, "length"),
    ],
)
def test_bodies_json_cannot_echo_are_still_a_422(client, path, content, headers, field):
    """The 422 must not try to echo raw bytes, NaN or a lone surrogate back (that was a 500)."""
    response = client.post(path, content=content, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(f"{field}: ")


def stored_state(pipeline, name: str) -> dict:
    """What the index holds about one file: its record and its chunks."""
    record = pipeline.store.files.get(ids=[name], include=["documents", "metadatas"])
    chunks = pipeline.store.chunks_of(name)
    return {
        "text": record["documents"][0],
        "sha256": record["metadatas"][0]["sha256"],
        "chunk_count": record["metadatas"][0]["chunks"],
        "chunks": [(c.id, c.start, c.end, c.line, c.text, c.metadata) for c in chunks],
    }


def expected_state(path, name: str, data: bytes, settings) -> dict:
    """What the index should hold for a file whose bytes are data."""
    path.write_bytes(data)
    doc = load_document(path, name, settings.max_file_bytes)
    chunks = chunk_document(doc, settings.chunk_chars, settings.chunk_overlap_sentences)
    return {
        "text": doc.text,
        "sha256": hashlib.sha256(data).hexdigest(),
        "chunk_count": len(chunks),
        "chunks": [(c.id, c.start, c.end, c.line, c.text, c.metadata) for c in chunks],
    }


def test_duplicate_content_under_two_names_is_indexed_and_cited_under_each(pipeline, articles_copy):
    original = "003_82cead1f1c9ff3e4.txt"
    shutil.copy(articles_copy / original, articles_copy / "copy of the AP story.txt")
    report = pipeline.ingest(articles_copy)
    assert len(report.added) == 6 and not report.skipped
    chunks = {
        name: pipeline.store.chunks_of(name) for name in (original, "copy of the AP story.txt")
    }
    assert [c.text for c in chunks[original]] == [
        c.text for c in chunks["copy of the AP story.txt"]
    ]
    assert not {c.id for c in chunks[original]} & {c.id for c in chunks["copy of the AP story.txt"]}
    answer = pipeline.ask("How far did the insurgents retreat from Hama?")
    assert "20 kilometers" in answer.answer
    cited = {c.file: c for s in answer.sentences for c in s.citations}
    assert {original, "copy of the AP story.txt"} <= set(cited)
    for file, citation in cited.items():
        text = (articles_copy / file).read_text(encoding="utf-8")
        assert text[citation.start : citation.end] == citation.quote
        assert citation.chunk_id in {c.id for c in pipeline.store.chunks_of(file)}
    assert "[copy of the AP story.txt:L7]" in answer.answer


CANARIES = [
    "SCRIPT-CANARY",
    "JSONLD-CANARY",
    "STYLE-CANARY",
    "HEADER-CANARY",
    "NAV-CANARY",
    "MENU-CANARY",
    "DROPDOWN-CANARY",
    "CRUMB-CANARY",
    "COMMENT-CANARY",
    "NOSCRIPT-CANARY",
    "BUTTON-CANARY",
    "FORM-CANARY",
    "ASIDE-CANARY",
    "TEMPLATE-CANARY",
    "SVG-CANARY",
    "FOOTER-CANARY",
]
PAGE = """<!doctype html>
<html><head><title>Hama offensive | Example News</title>
<meta property="og:site_name" content="Example News">
<style>.menu { color: red } body::after { content: "STYLE-CANARY" }</style>
<script>window.tracker = "SCRIPT-CANARY"; ignorePreviousInstructions();</script>
<script type="application/ld+json">{"headline": "JSONLD-CANARY"}</script>
</head><body>
<header><div class="logo">HEADER-CANARY</div></header>
<nav><ul><li><a href="/">NAV-CANARY Home</a></li><li><a href="/world">World</a></li></ul></nav>
<div class="site-menu" role="navigation"><ul><li><a href="/sport">MENU-CANARY Sport</a></li>
<li><a href="/biz">MENU-CANARY Business</a></li></ul></div>
<ul class="dropdown-menu"><li>DROPDOWN-CANARY Weather</li><li>DROPDOWN-CANARY Travel</li></ul>
<ol id="breadcrumbs"><li>CRUMB-CANARY Middle East</li></ol>
<!-- COMMENT-CANARY -->
<noscript>NOSCRIPT-CANARY enable JavaScript</noscript>
<div id="content">
<h1>Rebels advance on Hama</h1>
<p>Rebel fighters reached the outskirts of Hama on Tuesday, residents said.</p>
<script>document.write("SCRIPT-CANARY inline")</script>
<p>The Zorbland ministry reported that 412 families fled the town of Quillfield overnight.</p>
<ul><li>Aid groups asked for a corridor to Quillfield.</li></ul>
<button>BUTTON-CANARY Share</button>
<form><label>FORM-CANARY Subscribe</label><input></form>
<aside>ASIDE-CANARY Related stories</aside>
<template>TEMPLATE-CANARY</template>
<svg><text>SVG-CANARY</text></svg>
</div>
<footer>FOOTER-CANARY &copy; Example News</footer>
<script>console.log("SCRIPT-CANARY end")</script>
</body></html>
"""


def test_html_scripts_styles_navigation_and_menus_are_not_indexed(pipeline, tmp_path):
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "page.html").write_text(PAGE, encoding="utf-8")
    report = pipeline.ingest(folder)
    assert report.added == ["page.html"]
    chunks = pipeline.store.all_chunks()
    indexed = "\n".join(c.text for c in chunks) + pipeline.document("page.html")[0]
    assert [canary for canary in CANARIES if canary in indexed] == []
    assert "412 families fled the town of Quillfield" in indexed
    assert "corridor to Quillfield" in indexed  # an article's own list stays
    answer = pipeline.ask("How many families fled Quillfield?")
    assert "412" in answer.answer and answer.sources[0].outlet == "Example News"


def test_a_file_rewritten_just_after_it_is_read_is_indexed_as_the_version_read(
    pipeline, tmp_path, monkeypatch
):
    """The record and the chunks come from one read; the next ingest picks up the new text."""
    folder = tmp_path / "articles"
    folder.mkdir()
    path = folder / "story.txt"
    first = b"Zorbland talks\n\nThe Zorbland talks opened in Vexholm on Monday. Nine envoys came.\n"
    final = (
        b"Zorbland talks\n\nThe Zorbland talks collapsed in Vexholm on Friday after a walkout.\n"
    )
    real_read = rag.ingest.loaders.read_bytes

    def read_then_rewrite(file, max_bytes):  # the writer wins the race right after our read
        raw = real_read(file, max_bytes)
        file.write_bytes(final)
        return raw

    path.write_bytes(first)
    monkeypatch.setattr(rag.ingest.loaders, "read_bytes", read_then_rewrite)
    assert pipeline.ingest(folder).added == ["story.txt"]
    monkeypatch.undo()
    assert path.read_bytes() == final
    scratch = tmp_path / "expected" / "story.txt"
    scratch.parent.mkdir()
    settings = pipeline.settings
    assert stored_state(pipeline, "story.txt") == expected_state(
        scratch, "story.txt", first, settings
    )
    assert pipeline.ingest(folder).updated == ["story.txt"]
    assert stored_state(pipeline, "story.txt") == expected_state(
        scratch, "story.txt", final, settings
    )


def test_a_file_that_grows_past_the_limit_after_its_size_check_is_skipped(tmp_path):
    """The size is checked before reading; the read itself must stay bounded too."""

    class GrowingPath(type(tmp_path)):  # type: ignore[misc]
        def stat(self, *args, **kwargs):  # the writer appends right after our size check
            result = super().stat(*args, **kwargs)
            with open(self, "ab") as handle:
                handle.write(b"More text keeps coming in. " * 100)
            return result

    path = GrowingPath(tmp_path / "growing.txt")
    path.write_bytes(b"A short story about Vexholm. It ends here.\n")
    with pytest.raises(SkipFile, match="limit"):
        load_document(path, "growing.txt", 1000)


def test_an_edit_that_keeps_chunk_texts_still_updates_their_line_date_and_outlet(
    settings, tmp_path
):
    """Same length, same sentences: only the date, outlet and a line break change."""
    folder = tmp_path / "articles"
    folder.mkdir()
    path = folder / "z.txt"
    sentences = [
        "Zorbland rebels reached the river on Monday.",
        "The Quillfield council met at noon.",
        "Officials said 412 families had fled.",
        "Aid convoys were stopped at the border.",
        "The ministry promised new shelters.",
        "Talks are planned for next week in Vexholm.",
    ]
    before = "Zorbland crisis deepens\nSource: Daily Zorb\nDec 02, 2024\n\n" + "\n".join(sentences)
    after = (
        before.replace("Dec 02", "Dec 03")
        .replace("Daily Zorb", "Zorb Daily")
        .replace("noon.\nOfficials", "noon. Officials")
    )
    assert len(before) == len(after)
    settings = settings.model_copy(update={"chunk_chars": 200})  # several chunks
    pipeline = build_pipeline(settings)
    path.write_text(before, encoding="utf-8")
    pipeline.ingest(folder)
    path.write_text(after, encoding="utf-8")
    assert pipeline.ingest(folder).updated == ["z.txt"]
    scratch = tmp_path / "expected" / "z.txt"
    scratch.parent.mkdir()
    stored = stored_state(pipeline, "z.txt")
    assert stored == expected_state(scratch, "z.txt", after.encode(), settings)
    assert {meta["date"] for *_, meta in stored["chunks"]} == {"2024-12-03"}


def test_a_symlinked_folder_pointing_outside_is_not_followed(pipeline, tmp_path):
    """A symlinked file is covered in test_ingest; a symlinked folder (and a loop) is not."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("The Zorbland launch code is 4471. It is secret.\n")
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "ok.txt").write_text("The Vexholm bridge opened on Monday. Crowds came.\n")
    (folder / "linked").symlink_to(outside, target_is_directory=True)
    (folder / "loop").symlink_to(folder, target_is_directory=True)
    report = pipeline.ingest(folder)
    assert report.added == ["ok.txt"]
    assert all("4471" not in c.text for c in pipeline.store.all_chunks())
    assert pipeline.ask("What is the Zorbland launch code?").abstained
