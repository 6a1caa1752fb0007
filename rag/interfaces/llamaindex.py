"""citerag from LlamaIndex: its retrieval as a retriever, its answers as a query engine, and its
verifier for any LlamaIndex response.

    retriever = CiteragRetriever(pipeline)            # hybrid dense + BM25, llama-index nodes
    engine = CiteragQueryEngine(pipeline)             # Response whose source_nodes are cited spans
    checked = ResponseVerifier(pipeline).verify(any_response)   # e.g. CitationQueryEngine's

Nodes carry the file's character offsets (start_char_idx, end_char_idx) and its name
(metadata "file", ref_doc_id), so a citation can be opened at the exact passage.
"""

import hashlib

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import RESPONSE_TYPE, Response
from llama_index.core.callbacks import CallbackManager
from llama_index.core.prompts.mixin import PromptDictType, PromptMixinType
from llama_index.core.schema import (
    BaseNode,
    NodeRelationship,
    NodeWithScore,
    QueryBundle,
    RelatedNodeInfo,
    TextNode,
)

from rag.answer.citations import parse_cited_text
from rag.core.models import Answer, AnswerSentence, Chunk
from rag.core.text import line_of, sentence_spans
from rag.index.filters import Filters
from rag.pipeline import Pipeline


class CiteragRetriever(BaseRetriever):
    """citerag's hybrid retrieval (dense + BM25, fused), returning llama-index nodes."""

    def __init__(
        self,
        pipeline: Pipeline,
        top_k: int | None = None,
        filters: Filters | None = None,
        callback_manager: CallbackManager | None = None,
    ):
        super().__init__(callback_manager=callback_manager)
        self.pipeline = pipeline
        self.top_k = top_k or pipeline.settings.top_k
        self.filters = filters

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self.pipeline.retrieve(query_bundle.query_str, self.top_k, self.filters)
        return [NodeWithScore(node=chunk_node(hit.chunk), score=hit.score) for hit in hits]


class CiteragQueryEngine(BaseQueryEngine):
    """citerag's verified answer as a llama-index Response: the text keeps only supported
    sentences, source_nodes are the exact cited spans, metadata["citerag"] the answer object."""

    def __init__(
        self,
        pipeline: Pipeline,
        mode: str | None = None,
        callback_manager: CallbackManager | None = None,
    ):
        super().__init__(callback_manager=callback_manager)
        self.pipeline = pipeline
        self.mode = mode

    def _query(self, query_bundle: QueryBundle) -> RESPONSE_TYPE:
        return answer_response(self.pipeline.ask(query_bundle.query_str, mode=self.mode))

    async def _aquery(self, query_bundle: QueryBundle) -> RESPONSE_TYPE:
        return self._query(query_bundle)

    def _get_prompts(self) -> PromptDictType:
        return {}

    def _get_prompt_modules(self) -> PromptMixinType:
        return {}

    def _update_prompts(self, prompts_dict: PromptDictType) -> None:
        pass


class ResponseVerifier:
    """Checks a llama-index Response against its own source nodes, sentence by sentence.

    A sentence's [n] markers name source_nodes[n-1] (the CitationQueryEngine convention); an
    uncited sentence is checked against the closest source node. The returned Response keeps
    the supported sentences only; metadata["sentences"] holds every verdict with its reason and
    the exact span that supports it.
    """

    def __init__(self, pipeline: Pipeline):
        self.verifier = pipeline.verifier

    def verify(self, response: Response) -> Response:
        nodes = list(response.source_nodes)
        chunks = [node_chunk(n.node) for n in nodes]
        verdicts: list[AnswerSentence] = []
        for parsed in parse_cited_text(str(response.response or ""), len(chunks)):
            cited = [chunks[i - 1] for i in parsed.passages]
            verdicts.append(
                self.verifier.verify(parsed.text, cited)
                if cited
                else self.verifier.attribute(parsed.text, chunks)
            )
        kept = " ".join(s.text for s in verdicts if s.supported)
        metadata = dict(response.metadata or {})
        metadata["sentences"] = [s.model_dump() for s in verdicts]
        return Response(response=kept, source_nodes=nodes, metadata=metadata)


def answer_response(answer: Answer) -> Response:
    """A citerag answer as a llama-index Response (abstentions keep their text, no sources)."""
    nodes = [
        NodeWithScore(
            node=span_node(c.file, c.chunk_id, c.quote, c.start, c.end, c.line), score=c.score
        )
        for s in answer.sentences
        if s.supported
        for c in s.citations
    ]
    return Response(
        response=answer.answer, source_nodes=nodes, metadata={"citerag": answer.model_dump()}
    )


def chunk_node(chunk: Chunk) -> TextNode:
    """A chunk as a node: its text, offsets into its file, the file as its source document."""
    node = span_node(chunk.file, chunk.id, chunk.text, chunk.start, chunk.end, chunk.line)
    node.metadata.update(
        {k: v for k, v in chunk.metadata.items() if isinstance(v, str | int | float)}
    )
    if prev_id := chunk.metadata.get("prev_id"):
        node.relationships[NodeRelationship.PREVIOUS] = RelatedNodeInfo(node_id=prev_id)
    if next_id := chunk.metadata.get("next_id"):
        node.relationships[NodeRelationship.NEXT] = RelatedNodeInfo(node_id=next_id)
    return node


def span_node(file: str, node_id: str, text: str, start: int, end: int, line: int) -> TextNode:
    return TextNode(
        id_=node_id if node_id else _digest(file, text),
        text=text,
        start_char_idx=start,
        end_char_idx=end,
        metadata={"file": file, "line": line},
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=file)},
    )


def node_chunk(node: BaseNode) -> Chunk:
    """Any llama-index node as a chunk the verifier can read (offsets from the node if it has
    them, else relative to its own text)."""
    text = node.get_content()
    start = node.start_char_idx if isinstance(node, TextNode) and node.start_char_idx else 0
    file = str(
        node.metadata.get("file")
        or node.metadata.get("file_name")
        or node.ref_doc_id
        or node.node_id
    )
    sentences = [(start + s, start + e) for s, e in sentence_spans(text)]
    line = int(node.metadata.get("line") or line_of(text, 0))
    return Chunk(node.node_id, file, text, start, start + len(text), line, sentences, {})


def _digest(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()[:24]
