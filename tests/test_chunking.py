from pathlib import Path

import pytest

from rag.ingest.chunking import chunk_document
from rag.ingest.loaders import load_document

ARTICLES = sorted((Path(__file__).resolve().parent.parent / "data" / "articles").iterdir())


@pytest.mark.parametrize("path", ARTICLES, ids=lambda p: p.name)
def test_chunk_and_sentence_offsets_quote_the_file_exactly(path):
    doc = load_document(path, path.name, 1_000_000)
    raw = path.read_text(encoding="utf-8")
    chunks = chunk_document(doc, 700, 1)
    assert chunks
    for chunk in chunks:
        assert raw[chunk.start : chunk.end] == chunk.text
        assert chunk.line == raw.count("\n", 0, chunk.start) + 1
        for start, end, sentence in chunk.sentence_texts():
            assert raw[start:end] == sentence
            assert chunk.start <= start < end <= chunk.end


@pytest.mark.parametrize("path", ARTICLES, ids=lambda p: p.name)
def test_every_content_sentence_lands_in_some_chunk(path):
    doc = load_document(path, path.name, 1_000_000)
    chunks = chunk_document(doc, 700, 1)
    covered = {span for chunk in chunks for span in chunk.sentences}
    for seg_start, seg_end in doc.segments:
        assert any(seg_start <= s and e <= seg_end for s, e in covered)
    assert "ARTICLE AD BOX" not in " ".join(c.text for c in chunks)


def test_chunks_respect_the_size_target_and_overlap_one_sentence():
    path = ARTICLES[1]
    chunks = chunk_document(load_document(path, path.name, 1_000_000), 400, 1)
    for before, after in zip(chunks, chunks[1:]):
        assert len(before.sentences) == 1 or before.end - before.start <= 400
        assert before.sentences[-1] == after.sentences[0] or before.end < after.start


def test_chunk_ids_are_stable_and_follow_content(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("Alpha is first. Beta is second.\n\nGamma is third.\n")
    first = [c.id for c in chunk_document(load_document(path, "a.txt", 1000), 700, 1)]
    again = [c.id for c in chunk_document(load_document(path, "a.txt", 1000), 700, 1)]
    path.write_text("Alpha is first. Beta changed.\n\nGamma is third.\n")
    changed = [c.id for c in chunk_document(load_document(path, "a.txt", 1000), 700, 1)]
    assert first == again
    assert first != changed


def test_what_the_loader_read_is_part_of_a_chunks_id(tmp_path):
    """A newer loader that reads a date or an outlet an older one missed gives the file new
    chunk ids, so re-ingesting the unchanged file refreshes its stored metadata."""
    from dataclasses import replace

    path = tmp_path / "a.txt"
    path.write_text("Headline of the story\n\nThe body says what happened on Monday.\n")
    doc = load_document(path, "a.txt", 1_000_000)
    before = {c.id for c in chunk_document(doc, 1000, 1)}
    read_better = replace(doc, outlet="The Harwick Courier", date="2026-03-17")
    after = chunk_document(read_better, 1000, 1)
    assert before.isdisjoint(c.id for c in after)
    assert after[0].metadata["outlet"] == "The Harwick Courier"
