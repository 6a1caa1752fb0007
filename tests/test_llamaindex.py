"""citerag from LlamaIndex: retriever, query engine, and the verifier on any LlamaIndex response."""

import pytest
from llama_index.core.base.response.schema import Response
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import CitationQueryEngine, RetrieverQueryEngine
from llama_index.core.schema import NodeRelationship

from rag.interfaces.llamaindex import CiteragQueryEngine, CiteragRetriever, ResponseVerifier
from tests.helpers import ARTICLES, OUTPUT
from tests.llm_servers import LlamaCppServer

ENVOY = "Who is the UN special envoy for Syria?"


def test_the_retriever_returns_nodes_with_offsets_into_their_file(sample_pipeline):
    found = CiteragRetriever(sample_pipeline, top_k=4).retrieve(ENVOY)
    assert len(found) == 4
    for scored in found:
        node = scored.node
        text = (ARTICLES / node.metadata["file"]).read_text(encoding="utf-8")
        assert text[node.start_char_idx : node.end_char_idx] == node.get_content()
        assert node.ref_doc_id == node.metadata["file"]
    linked = [n.node for n in found if NodeRelationship.NEXT in n.node.relationships]
    assert linked, "chunks know their neighbours"


def test_the_query_engine_answers_with_the_cited_spans_as_source_nodes(sample_pipeline):
    response = CiteragQueryEngine(sample_pipeline).query(ENVOY)
    assert "Pedersen" in str(response)
    assert response.source_nodes and all(
        "Pedersen" in n.node.get_content() or n.score is not None for n in response.source_nodes
    )
    first = response.source_nodes[0].node
    text = (ARTICLES / first.metadata["file"]).read_text(encoding="utf-8")
    assert text[first.start_char_idx : first.end_char_idx] == first.get_content()
    assert response.metadata["citerag"]["abstained"] is False


def test_the_verifier_keeps_supported_sentences_and_flags_inventions(sample_pipeline):
    nodes = CiteragRetriever(sample_pipeline, top_k=6).retrieve(ENVOY)
    cited = next(i for i, n in enumerate(nodes, 1) if "Pedersen" in n.node.get_content())
    response = Response(
        response=(
            f"Geir Pedersen is the UN special envoy for Syria [{cited}]. "
            f"Johnathan Smithers replaced him as envoy on Tuesday [{cited}]."
        ),
        source_nodes=nodes,
    )
    checked = ResponseVerifier(sample_pipeline).verify(response)
    verdicts = checked.metadata["sentences"]
    assert [v["supported"] for v in verdicts] == [True, False]
    assert "Pedersen" in str(checked) and "Smithers" not in str(checked)
    assert verdicts[0]["citations"][0]["quote"] in nodes[cited - 1].node.get_content()


def test_a_llamaindex_engine_with_mockllm_over_citerag_is_verified(sample_pipeline):
    engine = RetrieverQueryEngine.from_args(
        CiteragRetriever(sample_pipeline), llm=MockLLM(max_tokens=40)
    )
    response = engine.query(ENVOY)
    checked = ResponseVerifier(sample_pipeline).verify(response)
    verdicts = checked.metadata["sentences"]
    assert verdicts, "every sentence of the response gets a verdict"
    kept = [v["text"] for v in verdicts if v["supported"]]
    assert (checked.response or "") == " ".join(kept)


@pytest.mark.slow
def test_citation_query_engine_with_a_real_local_llm_is_verified(sample_pipeline):
    from llama_index.llms.openai_like import OpenAILike

    OUTPUT.mkdir(exist_ok=True)
    server = LlamaCppServer(OUTPUT / "llama-cpp-llamaindex.log")
    try:
        llm = OpenAILike(
            api_base=server.url,
            api_key="unused",
            model="smollm2",
            is_chat_model=True,
            max_tokens=120,
            temperature=0,
        )
        engine = CitationQueryEngine(CiteragRetriever(sample_pipeline, top_k=3), llm=llm)
        response = engine.query(ENVOY)
    finally:
        server.close()
    checked = ResponseVerifier(sample_pipeline).verify(response)
    verdicts = checked.metadata["sentences"]
    kept = " ".join(v["text"] for v in verdicts if v["supported"])
    assert verdicts and (checked.response or "") == kept
    for verdict in verdicts:
        assert verdict["supported"] or verdict["reason"]  # a dropped sentence says why


def test_the_readme_example_runs(tmp_path, monkeypatch, capsys):
    import re

    from rag.pipeline import build_pipeline
    from tests.helpers import ROOT, make_settings

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Use from LlamaIndex", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    build_pipeline(make_settings(tmp_path / "rag")).ingest(ARTICLES)
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "rag"))
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "Pedersen" in printed and ".txt" in printed
