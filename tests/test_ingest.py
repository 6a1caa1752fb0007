"""Ingest on the real embedding model and a real embedded Chroma."""

import dataclasses
import os
import time

import numpy

from rag.index.keywords import keyword_folder
from rag.pipeline import build_pipeline


def test_reingesting_unchanged_files_writes_nothing(pipeline, articles_copy):
    first = pipeline.ingest(articles_copy)
    assert len(first.added) == 5 and first.chunks_written > 0
    ids_before = set(pipeline.store.collection.get(include=[])["ids"])
    again = pipeline.ingest(articles_copy)
    assert (again.added, again.updated, again.chunks_written, again.chunks_deleted) == (
        [],
        [],
        0,
        0,
    )
    assert len(again.unchanged) == 5
    assert set(pipeline.store.collection.get(include=[])["ids"]) == ids_before


def test_a_changed_file_replaces_its_chunks(pipeline, articles_copy):
    pipeline.ingest(articles_copy)
    target = articles_copy / "004_41f9c137d467bf3b.txt"
    target.write_text(target.read_text() + "\nA brand new closing sentence about Khansir.\n")
    report = pipeline.ingest(articles_copy)
    assert report.updated == ["004_41f9c137d467bf3b.txt"] and len(report.unchanged) == 4
    texts = [c.text for c in pipeline.store.chunks_of("004_41f9c137d467bf3b.txt")]
    assert any("brand new closing sentence" in t for t in texts)
    ids = pipeline.store.file_chunk_ids()["004_41f9c137d467bf3b.txt"][1]
    assert len(ids) == len(texts)  # no stale chunk left behind


def test_a_text_is_embedded_once_across_copies_and_edits(pipeline, articles_copy):
    first = pipeline.ingest(articles_copy)
    assert first.chunks_embedded == first.chunks_written
    original = articles_copy / "004_41f9c137d467bf3b.txt"
    (articles_copy / "wire-copy.txt").write_text(original.read_text())
    copied = pipeline.ingest(articles_copy)
    assert copied.added == ["wire-copy.txt"] and copied.chunks_written > 0
    assert copied.chunks_embedded == 0

    original.write_text(original.read_text() + "\nA brand new closing sentence about Khansir.\n")
    edited = pipeline.ingest(articles_copy)
    assert edited.updated == ["004_41f9c137d467bf3b.txt"]
    assert 0 < edited.chunks_embedded <= 2 < edited.chunks_written

    reused = pipeline.store.collection.get(
        where={"file": "wire-copy.txt"}, include=["embeddings", "documents"]
    )
    fresh = pipeline.embedder.embed(reused["documents"])
    assert numpy.allclose(reused["embeddings"], fresh, atol=1e-5)


def test_sync_drops_chunks_of_deleted_files_and_plain_ingest_keeps_them(pipeline, articles_copy):
    pipeline.ingest(articles_copy)
    (articles_copy / "000_43fc5ccdc40033fb.txt").unlink()
    kept = pipeline.ingest(articles_copy)
    assert kept.removed == [] and "000_43fc5ccdc40033fb.txt" in pipeline.store.file_chunk_ids()
    synced = pipeline.ingest(articles_copy, sync=True)
    assert synced.removed == ["000_43fc5ccdc40033fb.txt"]
    assert "000_43fc5ccdc40033fb.txt" not in pipeline.store.file_chunk_ids()
    assert "000_43fc5ccdc40033fb.txt" not in {d.file for d in pipeline.documents()}


def test_bad_files_are_skipped_and_nothing_indexed_is_lost(pipeline, articles_copy):
    pipeline.ingest(articles_copy)
    count = pipeline.store.count()
    (articles_copy / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    (articles_copy / "empty.md").write_text("")
    (articles_copy / "huge.txt").write_text("word " * 1_100_000)  # over the 5 MB default
    os.symlink("/etc/hostname", articles_copy / "escape.txt")
    report = pipeline.ingest(articles_copy)
    reasons = dict(report.skipped)
    assert set(reasons) == {"binary.txt", "empty.md", "huge.txt", "escape.txt"}
    assert "binary" in reasons["binary.txt"]
    assert "empty" in reasons["empty.md"] and "limit" in reasons["huge.txt"]
    assert "outside" in reasons["escape.txt"]
    assert pipeline.store.count() == count and len(report.unchanged) == 5


def test_the_index_survives_a_new_process(settings, articles_copy):
    build_pipeline(settings).ingest(articles_copy)
    reopened = build_pipeline(settings)
    assert len(reopened.documents()) == 5
    assert not reopened.ask("Who is the UN special envoy for Syria?").abstained


def test_a_new_process_loads_the_keyword_index_saved_by_the_ingest(settings, articles_copy):
    first = build_pipeline(settings)
    first.ingest(articles_copy)
    assert (keyword_folder(settings) / "manifest.json").exists()

    second = build_pipeline(settings)
    # loading must read nothing of the store's chunks or file records
    second.store.all_chunks = second.store.file_hashes = None  # type: ignore[assignment]
    question = "How far did the insurgents retreat from Hama?"
    loaded = second.retriever.lexical().search(question, 5, None)
    assert loaded and loaded == first.retriever.lexical().search(question, 5, None)


def test_a_stale_or_broken_saved_keyword_index_is_rebuilt(settings, articles_copy):
    pipeline = build_pipeline(settings)
    pipeline.ingest(articles_copy)
    (articles_copy / "new.txt").write_text(
        "The Zarqonite lighthouse reopened on Monday, officials said."
    )
    build_pipeline(settings).ingest(articles_copy)  # another process: a new version, a new file
    time.sleep(1.1)  # the version is re-read at most once a second
    found = pipeline.retriever.keyword_search("Zarqonite lighthouse", 3)
    assert found and found[0][0].file == "new.txt"

    (keyword_folder(settings) / "manifest.json").write_text("{not json")
    fresh = build_pipeline(settings)
    assert fresh.retriever.keyword_search("Zarqonite lighthouse", 3)[0][0].file == "new.txt"


def test_a_chunks_neighbours_are_the_chunks_before_and_after_it_in_its_file(
    pipeline, articles_copy
):
    pipeline.ingest(articles_copy)
    by_id = {c.id: c for c in pipeline.store.all_chunks()}
    file = next(iter(by_id.values())).file
    ordered = sorted(
        (c for c in by_id.values() if c.file == file), key=lambda c: c.metadata["chunk_index"]
    )
    middle = ordered[len(ordered) // 2]
    around = {c.id for c in pipeline.store.neighbours([middle])}
    at = ordered.index(middle)
    assert around == {ordered[at - 1].id, ordered[at + 1].id}
    # by position too, for a chunk indexed without the links
    unlinked = dataclasses.replace(middle, metadata={"chunk_index": at})
    assert {c.id for c in pipeline.store.neighbours([unlinked])} == around
