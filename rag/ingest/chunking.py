"""Cut a document's content into chunks of whole sentences that keep their offsets."""

import hashlib

from rag.core.models import Chunk
from rag.core.text import line_of, sentence_spans
from rag.ingest.loaders import Document, date_number


def chunk_document(doc: Document, target_chars: int, overlap: int) -> list[Chunk]:
    """Sentence-aware chunks; a chunk never spans text left out of the content."""
    chunks: list[Chunk] = []
    for block in _contiguous_blocks(doc):
        sentences = [s for seg in block for s in sentence_spans(doc.text, *seg)]
        for group in _group_sentences(sentences, target_chars, overlap):
            chunks.append(_make_chunk(doc, group, len(chunks)))
    for before, after in zip(chunks, chunks[1:]):  # llama-index's PREVIOUS / NEXT
        before.metadata["next_id"], after.metadata["prev_id"] = after.id, before.id
    return chunks


def text_hash(text: str) -> str:
    """What a chunk's vector depends on: chunks with equal texts share one embedding."""
    return hashlib.sha1(text.encode()).hexdigest()[:24]


def _contiguous_blocks(doc: Document) -> list[list[tuple[int, int]]]:
    """Segments separated only by whitespace belong to one block."""
    blocks: list[list[tuple[int, int]]] = []
    for seg in doc.segments:
        if blocks and not doc.text[blocks[-1][-1][1] : seg[0]].strip():
            blocks[-1].append(seg)
        else:
            blocks.append([seg])
    return blocks


def _group_sentences(
    sentences: list[tuple[int, int]], target: int, overlap: int
) -> list[list[tuple[int, int]]]:
    groups: list[list[tuple[int, int]]] = []
    i = 0
    while i < len(sentences):
        group = [sentences[i]]
        j = i + 1
        while j < len(sentences) and sentences[j][1] - group[0][0] <= target:
            group.append(sentences[j])
            j += 1
        groups.append(group)
        if j >= len(sentences):
            break
        i = max(j - overlap, i + 1)
    return groups


def _make_chunk(doc: Document, group: list[tuple[int, int]], index: int) -> Chunk:
    start, end = group[0][0], group[-1][1]
    text = doc.text[start:end]
    # The file's hash is part of the id: any edit (even one that keeps this chunk's text, such as
    # a new date line) rewrites every chunk, so stored line, date and outlet match the file. So
    # is what was read of it: a loader that reads a date it missed before rewrites them too.
    read = "\0".join(str(v or "") for v in (doc.title, doc.outlet, doc.date, doc.updated))
    key = f"{doc.file}\0{doc.sha256}\0{start}\0{text}\0{read}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:24]
    return Chunk(
        id=digest,
        file=doc.file,
        text=text,
        start=start,
        end=end,
        line=line_of(doc.text, start),
        sentences=group,
        metadata={
            "title": doc.title,
            "outlet": doc.outlet or "",
            "date": doc.date or "",
            "date_int": date_number(doc.date),
            "updated": doc.updated or "",
            "file_sha256": doc.sha256,
            "chunk_index": index,
            "text_hash": text_hash(text),
        },
    )
