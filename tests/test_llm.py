"""The llm generator against real OpenAI-compatible HTTP servers on 127.0.0.1."""

import pytest

from rag.core.errors import LLMUnavailable
from rag.pipeline import Pipeline, build_pipeline
from tests.helpers import ARTICLES, OUTPUT
from tests.llm_servers import LlamaCppServer

pytestmark = pytest.mark.slow  # llama.cpp serving SmolLM2


def llm_pipeline(sample: Pipeline, url: str, **overrides) -> Pipeline:
    """The session's indexed store with an llm generator pointed at url."""
    settings = sample.settings.model_copy(
        update={"llm_base_url": url, "llm_model": "smollm2", "mode": "llm", **overrides}
    )
    pipeline = build_pipeline(settings, sample.store, sample.embedder)
    return pipeline


@pytest.fixture(scope="module")
def smollm2():
    OUTPUT.mkdir(exist_ok=True)
    server = LlamaCppServer(OUTPUT / "llama-cpp-server.log")
    yield server
    server.close()


def assert_grounded(answer) -> None:
    """Every sentence the answer shows is supported and quotes its file exactly."""
    for sentence in answer.sentences:
        if sentence.supported:
            assert sentence.citations
            assert sentence.text in answer.answer
        else:
            assert sentence.reason
            assert sentence.text not in answer.answer
        for c in sentence.citations:
            text = (ARTICLES / c.file).read_text(encoding="utf-8")
            assert text[c.start : c.end] == c.quote


QUESTIONS = [
    "Who is the UN special envoy for Syria?",
    "How many people has the war killed?",
    "How old was Anas Alkharboutli?",
    "How far did the insurgents retreat from Hama?",
]


def test_smollm2_answers_are_verified_and_its_inventions_flagged(sample_pipeline, smollm2):
    pipeline = llm_pipeline(sample_pipeline, smollm2.url)
    generator = pipeline.generator("llm")
    completions: list[str] = []
    real_complete = generator.complete

    def recording(messages, on_token=None):
        completions.append(real_complete(messages, on_token))
        return completions[-1]

    generator.complete = recording
    answers = [pipeline.ask(q) for q in QUESTIONS]
    report = []
    for answer, raw in zip(answers, completions):
        assert answer.mode == "llm" and not answer.abstained
        assert_grounded(answer)
        report.append(
            f"Q: {answer.question}\nLLM: {raw}\nANSWER: {answer.answer}\n"
            + "\n".join(
                f"  [{'ok' if s.supported else 'FLAGGED'}] {s.text} ({s.reason})"
                for s in answer.sentences
            )
        )
    (OUTPUT / "smollm2-answers.txt").write_text("\n\n".join(report))
    assert len(completions) == len(QUESTIONS) and all(completions)
    flagged = [s for a in answers for s in a.sentences if not s.supported]
    assert flagged, "SmolLM2 invented nothing the verifier caught; see smollm2-answers.txt"
    assert any("numbers" in s.reason or "names" in s.reason for s in flagged)


def test_cited_and_uncited_sentences_are_checked_against_their_passages(sample_pipeline, scripted):
    pipeline = llm_pipeline(sample_pipeline, scripted.url)
    scripted.queue.append(
        {
            "text": (
                "Geir Pedersen is the UN special envoy for Syria [1]. "
                "He was appointed by the Pope in 1999 [2]. "
                "Pedersen spoke to the U.N. Security Council [99]."
            )
        }
    )
    answer = pipeline.ask("Who is the UN special envoy for Syria?")
    verdicts = {s.text: s for s in answer.sentences}
    assert not verdicts["He was appointed by the Pope in 1999."].supported
    invalid = verdicts["Pedersen spoke to the U.N. Security Council."]
    assert invalid.attributed  # [99] matched no passage; the verifier found the closest one
    assert invalid.citations and all(c.quote for c in invalid.citations)
    assert "Pope" not in answer.answer and "[99]" not in answer.answer
    passages = scripted.requests[0]["messages"][1]["content"]
    assert "[1] (" in passages and scripted.requests[0]["temperature"] == 0
    assert_grounded(answer)


@pytest.mark.parametrize(
    "reply",
    [
        {"text": ""},
        {"text": "asdf qwerty zxcv [1]."},
        {"text": "Bananas are yellow and grow in Ecuador [2]."},
    ],
)
def test_garbage_replies_fall_back_to_the_extractive_answer(sample_pipeline, scripted, reply):
    pipeline = llm_pipeline(sample_pipeline, scripted.url)
    scripted.queue.append(reply)
    answer = pipeline.ask("How old was Anas Alkharboutli?")
    assert answer.fallback and "32" in answer.answer
    assert_grounded(answer)


def test_an_llm_that_says_the_sources_do_not_say_abstains(sample_pipeline, scripted):
    pipeline = llm_pipeline(sample_pipeline, scripted.url)
    scripted.queue.append({"text": "The sources do not say."})
    answer = pipeline.ask("How old was Anas Alkharboutli?")
    assert answer.abstained and answer.answer == "The sources do not say."


@pytest.mark.parametrize(
    "failure", [{"status": 500}, {"status": 503}, {"delay": 3, "text": "late"}]
)
def test_a_dead_or_slow_llm_raises_unavailable_with_the_sources(sample_pipeline, scripted, failure):
    pipeline = llm_pipeline(sample_pipeline, scripted.url, llm_timeout=1.0, llm_max_retries=1)
    scripted.queue += [failure, failure]
    with pytest.raises(LLMUnavailable) as raised:
        pipeline.ask("Who is the UN special envoy for Syria?")
    assert raised.value.sources and all(s.file.endswith(".txt") for s in raised.value.sources)
    assert len(scripted.requests) == 2  # one retry, then give up


def test_an_unreachable_endpoint_raises_unavailable(sample_pipeline):
    from tests.helpers import free_port

    pipeline = llm_pipeline(
        sample_pipeline, f"http://127.0.0.1:{free_port()}/v1", llm_max_retries=0
    )
    with pytest.raises(LLMUnavailable, match="failed"):
        pipeline.ask("Who is the UN special envoy for Syria?")


def test_a_local_gguf_runs_in_process_and_is_verified_the_same_way(sample_pipeline):
    from tests.llm_servers import smollm2_gguf

    settings = sample_pipeline.settings.model_copy(
        update={"llm_model_path": smollm2_gguf(), "mode": "llamacpp"}
    )
    pipeline = build_pipeline(settings, sample_pipeline.store, sample_pipeline.embedder)
    answer = pipeline.ask("How many people has the war killed?")
    assert answer.mode == "llamacpp" and not answer.abstained
    assert "half" in answer.answer
    assert_grounded(answer)


def test_unknown_modes_list_the_valid_ones(sample_pipeline):
    from rag.core.errors import BadInput

    with pytest.raises(BadInput, match="extractive, llm, llamacpp"):
        sample_pipeline.ask("Who?", mode="magic")


def test_llm_summaries_are_map_reduced_and_verified(sample_pipeline, scripted):
    pipeline = llm_pipeline(sample_pipeline, scripted.url, summary_batch_chars=2500)
    files = ["004_41f9c137d467bf3b.txt"]
    batches = len(
        __import__("rag.analysis.summarize", fromlist=["x"]).batch_chunks(
            pipeline.store.chunks_of(files[0]), 2500
        )
    )
    assert batches >= 2  # the input does not fit one call
    scripted.queue += [
        {
            "text": "Rebel forces captured Aleppo and advanced toward Hama [1]. "
            "The rebels captured 40 tanks [1]."
        },
    ] + [{"text": ""}] * (batches - 1)
    summary = pipeline.summarize(files, length=3)
    assert summary.mode == "llm" and len(scripted.requests) == batches
    assert "Summary in at most 3 sentences" in scripted.requests[0]["messages"][1]["content"]
    flagged = [s for s in summary.sentences if not s.supported]
    assert any("40" in s.text and "numbers" in s.reason for s in flagged)
    assert "40 tanks" not in summary.answer and "Aleppo" in summary.answer
    assert_grounded(summary)


def test_smollm2_summary_is_grounded(sample_pipeline, smollm2):
    pipeline = llm_pipeline(sample_pipeline, smollm2.url, llm_timeout=600)
    summary = pipeline.summarize(["003_82cead1f1c9ff3e4.txt"], length=3)
    assert summary.mode == "llm" and not summary.abstained
    assert_grounded(summary)
    (OUTPUT / "smollm2-summary.txt").write_text(
        "\n".join(
            f"[{'ok' if s.supported else 'FLAGGED'}] {s.text} ({s.reason})"
            for s in summary.sentences
        )
        + f"\n\nfallback: {summary.fallback}\nanswer: {summary.answer}"
    )
