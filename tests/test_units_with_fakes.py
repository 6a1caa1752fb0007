"""Fast unit tests on in-process fakes: an LLM that replies from a queue, a model-free embedder."""

from rag.pipeline import build_pipeline
from tests.helpers import ARTICLES, FakeCompleter, FakeEmbedder, make_settings, with_fake_llm


def test_a_fake_llms_faithful_sentence_is_kept_and_its_invention_dropped(sample_pipeline):
    llm = FakeCompleter(
        "Geir Pedersen is the UN special envoy for Syria [1]. "
        "Johnathan Smithers replaced him on Tuesday [1]."
    )
    answer = with_fake_llm(sample_pipeline, llm).ask("Who is the UN special envoy for Syria?")
    verdicts = {s.text: s.supported for s in answer.sentences}
    assert verdicts["Geir Pedersen is the UN special envoy for Syria."] is True
    assert verdicts["Johnathan Smithers replaced him on Tuesday."] is False
    assert "Smithers" not in answer.answer and answer.mode == "llm"
    assert "Question: Who is the UN special envoy for Syria?" in llm.prompts[0][1]["content"]


def test_a_fake_llms_tokens_stream_before_the_verified_answer(sample_pipeline):
    llm = FakeCompleter("Geir Pedersen is the UN special envoy for Syria [1].")
    tokens: list[str] = []
    answer = with_fake_llm(sample_pipeline, llm).ask(
        "Who is the UN special envoy for Syria?", on_token=tokens.append
    )
    assert "".join(tokens).startswith("Geir Pedersen") and "Pedersen" in answer.answer


def test_the_pipeline_runs_end_to_end_without_the_model(tmp_path):
    pipeline = build_pipeline(make_settings(tmp_path / "rag"), embedder=FakeEmbedder())
    report = pipeline.ingest(ARTICLES)
    assert len(report.added) == 5
    answer = pipeline.ask("Who is the UN special envoy for Syria?")
    for sentence in answer.sentences:
        for citation in sentence.citations:
            text = (ARTICLES / citation.file).read_text(encoding="utf-8")
            assert text[citation.start : citation.end] == citation.quote
