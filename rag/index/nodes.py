"""Chunks as llama-index nodes and back: offsets, line, sentences and neighbours kept."""

import json
from typing import TYPE_CHECKING

import numpy as np

from rag.core.models import Chunk, DocumentInfo, Source

if TYPE_CHECKING:
    from llama_index.core.schema import TextNode


def document_info(file: str, meta: dict) -> DocumentInfo:
    source = Source.from_meta(file, meta).model_dump()
    return DocumentInfo(**source, chunks=int(meta.get("chunks") or 0))


def to_node(chunk: Chunk, vector: np.ndarray) -> "TextNode":
    """The chunk as the node llama-index writes (imported here: only ingest needs it)."""
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

    metadata = {
        **chunk.metadata,
        "file": chunk.file,
        "start": chunk.start,
        "end": chunk.end,
        "line": chunk.line,
        "sentences": json.dumps(chunk.sentences),
    }
    related = {NodeRelationship.SOURCE: RelatedNodeInfo(node_id=chunk.file)}
    if prev_id := chunk.metadata.get("prev_id"):
        related[NodeRelationship.PREVIOUS] = RelatedNodeInfo(node_id=prev_id)
    if next_id := chunk.metadata.get("next_id"):
        related[NodeRelationship.NEXT] = RelatedNodeInfo(node_id=next_id)
    return TextNode(
        id_=chunk.id,
        text=chunk.text,
        start_char_idx=chunk.start,
        end_char_idx=chunk.end,
        relationships=related,
        metadata=metadata,
        embedding=vector.tolist(),
        excluded_embed_metadata_keys=list(metadata),
        excluded_llm_metadata_keys=list(metadata),
    )


def from_record(chunk_id: str, meta: dict, text: str) -> Chunk:
    keep = {k: v for k, v in meta.items() if not k.startswith("_") and k not in _POSITIONAL}
    return Chunk(
        id=chunk_id,
        file=meta["file"],
        text=text,
        start=int(meta["start"]),
        end=int(meta["end"]),
        line=int(meta["line"]),
        sentences=[tuple(s) for s in json.loads(meta["sentences"])],  # type: ignore[misc]
        metadata=keep,
    )


_POSITIONAL = {"file", "start", "end", "line", "sentences", "document_id", "doc_id", "ref_doc_id"}
