"""The keyword index: BM25 as bm25s scores it, kept in segments that follow the store."""

import uuid

import bm25s
import pytest

from rag.core.text import content_terms
from rag.index.filters import Filters
from rag.index.keywords import MAX_SEGMENTS, KeywordIndex, KeywordKeeper, Segment
from rag.ingest.chunking import chunk_document
from rag.ingest.loaders import Document, load_document
from tests.helpers import ARTICLES

QUESTIONS = [
    "How far did the insurgents retreat from Hama?",
    "Who is the UN special envoy for Syria?",
    "Russian airstrikes on the naval base",
    "How old was Anas Alkharboutli?",
]


def sample_chunks() -> list:
    chunks = []
    for path in sorted(ARTICLES.iterdir()):
        chunks += chunk_document(load_document(path, path.name, 10**7), 900, 1)
    return chunks


def article(name: str, text: str) -> list:
    doc = Document(name, text, [(0, len(text))], title=name, sha256=uuid.uuid4().hex)
    return chunk_document(doc, 900, 1)


class RecordingStore:
    """What the keeper asks of the store, in memory, counting the chunks it hands out."""

    def __init__(self):
        self.chunks: dict[str, list] = {}
        self.stamp = uuid.uuid4().hex
        self.handed_out = 0

    def put(self, chunks: list) -> None:
        for chunk in chunks:
            self.chunks.setdefault(chunk.file, [])
        for file in {c.file for c in chunks}:
            self.chunks[file] = [c for c in chunks if c.file == file]
        self.stamp = uuid.uuid4().hex

    def drop(self, file: str) -> None:
        del self.chunks[file]
        self.stamp = uuid.uuid4().hex

    def version(self) -> str:
        return self.stamp

    def file_hashes(self) -> dict[str, str]:
        return {f: c[0].metadata["file_sha256"] for f, c in self.chunks.items()}

    def chunks_of_files(self, files: dict[str, str]) -> list:
        found = [c for f in files for c in self.chunks.get(f, [])]
        self.handed_out += len(found)
        return found


def test_scores_are_bm25s_scores():
    chunks = sample_chunks()
    reference = bm25s.BM25()
    reference.index([content_terms(c.text) or ["_"] for c in chunks], show_progress=False)
    live = {c.file: c.metadata["file_sha256"] for c in chunks}
    index = KeywordIndex([Segment.build(chunks)], live)
    for question in QUESTIONS:
        expected = reference.get_scores(content_terms(question))
        got = dict(index.search(question, len(chunks), None))
        for chunk, score in zip(chunks, expected):
            assert got.get(chunk.id, 0.0) == pytest.approx(score, rel=1e-4, abs=1e-5)


def test_one_segment_per_file_ranks_like_one_segment_for_all():
    chunks = sample_chunks()
    live = {c.file: c.metadata["file_sha256"] for c in chunks}
    whole = KeywordIndex([Segment.build(chunks)], live)
    by_file = KeywordIndex([Segment.build([c for c in chunks if c.file == f]) for f in live], live)
    for question in QUESTIONS:
        expected = whole.search(question, 8, None)
        got = by_file.search(question, 8, None)
        assert [i for i, _ in got] == [i for i, _ in expected]
        assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-5)


def test_filters_keep_only_matching_files():
    chunks = sample_chunks()
    live = {c.file: c.metadata["file_sha256"] for c in chunks}
    index = KeywordIndex([Segment.build(chunks)], live)
    file = sorted(live)[2]
    owner = {c.id: c.file for c in chunks}
    found = index.search("Hama", 10, Filters(files=[file]))
    assert found and {owner[i] for i, _ in found} == {file}
    assert index.search("Hama", 10, Filters(files=["no-such-file.txt"])) == []


def test_a_new_file_costs_its_own_chunks_not_the_corpus(tmp_path):
    store = RecordingStore()
    store.put(sample_chunks())
    keeper = KeywordKeeper(store, tmp_path / "kw")  # type: ignore[arg-type]
    assert keeper.current().search("Hama", 3, None)
    corpus = store.handed_out

    added = article("harbour.txt", "The Zarqonite lighthouse reopened on Monday, officials said.")
    store.put(added)
    found = keeper.current().search("Zarqonite lighthouse", 3, None)
    assert [i for i, _ in found] == [added[0].id]
    assert store.handed_out - corpus == len(added)


def test_edited_and_deleted_files_drop_out_without_a_rebuild(tmp_path):
    store = RecordingStore()
    store.put(sample_chunks())
    keeper = KeywordKeeper(store, tmp_path / "kw")  # type: ignore[arg-type]
    store.put(article("note.txt", "The Zarqonite lighthouse reopened on Monday."))
    assert keeper.current().search("Zarqonite", 3, None)

    store.put(article("note.txt", "The Quillbrook ferry resumed service on Tuesday."))
    index = keeper.current()
    assert index.search("Zarqonite", 3, None) == []
    assert index.search("Quillbrook ferry", 3, None)

    store.drop("note.txt")
    index = keeper.current()
    assert index.search("Quillbrook", 3, None) == []
    assert "note.txt" not in {f["file"] for f in index.files()}


def test_many_small_updates_are_merged_and_still_rank_like_a_fresh_build(tmp_path):
    store = RecordingStore()
    store.put(sample_chunks())
    keeper = KeywordKeeper(store, tmp_path / "kw")  # type: ignore[arg-type]
    keeper.current()
    for n in range(3 * MAX_SEGMENTS):
        text = f"Bulletin {n}: the Hama road reopened, officials said."
        store.put(article(f"update-{n}.txt", text))
        keeper.current()
    store.drop("update-0.txt")
    incremental = keeper.current()
    assert len(incremental.segments) <= MAX_SEGMENTS

    fresh = KeywordKeeper(store, tmp_path / "fresh").current()  # type: ignore[arg-type]
    for question in [*QUESTIONS, "Hama road bulletin"]:
        got, expected = incremental.search(question, 10, None), fresh.search(question, 10, None)
        assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-5)
        assert {i for i, _ in got} == {i for i, _ in expected}


def test_a_new_process_maps_the_saved_segments_and_reads_no_chunks(tmp_path):
    store = RecordingStore()
    store.put(sample_chunks())
    built = KeywordKeeper(store, tmp_path / "kw").current()  # type: ignore[arg-type]
    handed_out = store.handed_out

    loaded = KeywordKeeper(store, tmp_path / "kw").current()  # type: ignore[arg-type]
    assert store.handed_out == handed_out
    for question in QUESTIONS:
        assert loaded.search(question, 5, None) == built.search(question, 5, None)
