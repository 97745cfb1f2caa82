import json
import os
import threading
import time

import numpy as np
import pytest

from app import storage
from app.assistant import Assistant
from app import ingest
from app.index import IndexUnusable
from app.manifest import is_current
from app.settings import Settings
from app.stores.folder import FolderStore

from conftest import open_current


def build(folder, embedder, source):
    settings = Settings(index_dir=folder, sources=[source], upload_dir=folder / "no-uploads")
    return ingest.update(FolderStore(folder), settings, embedder, progress=False)


def test_incremental_build_embeds_only_what_changed(tmp_path, embedder, small_collection):
    folder = tmp_path / "index"
    _, first = build(folder, embedder, small_collection)
    assert sorted(first.embedded) == sorted(p.name for p in small_collection.iterdir())

    _, again = build(folder, embedder, small_collection)
    assert again.embedded == [] and len(again.reused) == 3

    changed = small_collection / "003_6f832b08e556fda3.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\nThe ASEAN Secretariat publishes a yearly digital report.\n", encoding="utf-8")
    (small_collection / "000_69525f96bd29f103.txt").unlink()
    (small_collection / "new.md").write_text("# Notes\n\nThe Zanzibar digital accord was signed in 2031.\n", encoding="utf-8")
    index, third = build(folder, embedder, small_collection)
    assert sorted(third.embedded) == ["003_6f832b08e556fda3.txt", "new.md"]
    assert third.reused == ["002_59de855d1fbbee2d.txt"]
    assert third.removed == ["000_69525f96bd29f103.txt"]
    assert set(index.documents) == {"002_59de855d1fbbee2d.txt", "003_6f832b08e556fda3.txt", "new.md"}
    assert any("yearly digital report" in c["text"] for c in index.chunks)


def test_a_crash_mid_build_leaves_the_previous_index_current(tmp_path, embedder, small_collection, monkeypatch):
    folder = tmp_path / "index"
    build(folder, embedder, small_collection)
    before = storage.current_build(folder)
    (small_collection / "extra.txt").write_text("A brand new document about tariffs.\n", encoding="utf-8")

    def crash(build, dense, bm25, path):
        (path / "chunks.jsonl").write_text("half written", encoding="utf-8")
        raise KeyboardInterrupt("killed mid-save")

    monkeypatch.setattr("app.stores.folder.save", crash)
    with pytest.raises(KeyboardInterrupt):
        build(folder, embedder, small_collection)
    assert storage.current_build(folder) == before
    assert [p.name for p in (folder / "builds").iterdir()] == [before.name]  # nothing half-written left
    assert "extra.txt" not in open_current(folder).documents


def test_a_damaged_index_file_is_detected_and_rebuilt(tmp_path, embedder, small_collection):
    folder = tmp_path / "index"
    build(folder, embedder, small_collection)
    current = storage.current_build(folder)
    with open(current / "vectors.npy", "r+b") as f:
        f.seek(200)
        f.write(b"\x00\x01\x02")
    with pytest.raises(IndexUnusable, match="checksum mismatch.*citeqa index"):
        open_current(folder)
    a = Assistant(Settings(index_dir=folder, sources=[small_collection]), progress=False, embedder=embedder)
    a.ensure_index()
    assert a.ask("Who chaired the meetings?").citations
    open_current(folder)  # rebuilt and whole again


def test_citeqa_index_checks_every_byte_even_where_size_and_mtime_were_kept(tmp_path, embedder, small_collection):
    # Opening a build compares sizes and mtimes only (hashing 1.45 GB took 1 s at 100k chunks);
    # `citeqa index` with nothing to do still hashes every file.
    folder = tmp_path / "index"
    build(folder, embedder, small_collection)
    vectors = storage.current_build(folder) / "vectors.npy"
    st = vectors.stat()
    with open(vectors, "r+b") as f:
        f.seek(200)
        f.write(b"\x00\x01\x02")
    os.utime(vectors, ns=(st.st_atime_ns, st.st_mtime_ns))
    a = Assistant(Settings(index_dir=folder, sources=[small_collection]), progress=False, embedder=embedder)
    assert a.update_index(verify=True) is not None  # found damaged, rebuilt
    assert storage.current_build(folder).name != vectors.parent.name


def test_the_manifest_records_model_settings_and_documents(seed_index_dir):
    manifest = json.loads((storage.current_build(seed_index_dir) / "manifest.json").read_text())
    assert manifest["model"]["id"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert len(manifest["model"]["sha256"]) == 64
    assert manifest["chunking"] == Settings().chunking()
    assert len(manifest["documents"]) == 4
    assert all(len(d["sha256"]) == 64 for d in manifest["documents"].values())
    assert "vectors.npy" in manifest["files"]


def test_a_stale_index_is_rebuilt_before_a_query(tmp_path, embedder, small_collection):
    folder = tmp_path / "index"
    a = Assistant(Settings(index_dir=folder, sources=[small_collection]), progress=False, embedder=embedder)
    a.ensure_index()
    (small_collection / "late.txt").write_text("The Quokka Protocol sets rules for drone deliveries.\n", encoding="utf-8")
    fresh = Assistant(Settings(index_dir=folder, sources=[small_collection]), progress=False, embedder=embedder)
    answer = fresh.ask("What does the Quokka Protocol set rules for?")
    assert fresh.last_build is not None and fresh.last_build.embedded == ["late.txt"]
    assert answer.citations[0].doc == "late.txt"


def test_a_second_builder_waits_for_the_lock(tmp_path):
    folder = tmp_path / "index"
    order = []

    def hold():
        with storage.lock(folder):
            order.append("first in")
            time.sleep(0.6)
            order.append("first out")

    t = threading.Thread(target=hold)
    t.start()
    time.sleep(0.1)
    with storage.lock(folder):
        order.append("second in")
    t.join()
    assert order == ["first in", "first out", "second in"]
    with storage.lock(folder):
        blocker = threading.Thread(target=hold)
        blocker.start()
        time.sleep(0.1)
    blocker.join()


def test_an_index_built_by_another_chunking_pipeline_is_stale(tmp_path, embedder, small_collection, monkeypatch):
    folder = tmp_path / "index"
    settings = Settings(index_dir=folder, sources=[small_collection])
    build(folder, embedder, small_collection)
    assert is_current(open_current(folder).manifest, [small_collection], settings, embedder)
    monkeypatch.setattr("app.chunking.PIPELINE_VERSION", 999)
    assert not is_current(open_current(folder).manifest, [small_collection], settings, embedder)


def test_auto_switches_to_hnsw_above_the_limit_and_finds_the_same_passages(tmp_path, embedder, small_collection, monkeypatch):
    import faiss

    from app import manifest

    exact, _ = build(tmp_path / "exact", embedder, small_collection)
    assert exact.manifest["dense_index"] == "flat" and isinstance(exact._dense, faiss.IndexFlatIP)

    monkeypatch.setattr(manifest, "FLAT_LIMIT", 10)  # the small collection has more chunks than this
    approx, _ = build(tmp_path / "approx", embedder, small_collection)
    assert approx.manifest["dense_index"] == "hnsw"
    reloaded = open_current(tmp_path / "approx")
    assert isinstance(reloaded._dense, faiss.IndexHNSWFlat)
    query = embedder.encode(["Who chaired the ASEAN negotiations on e-commerce?"])[0]
    assert list(reloaded.dense_search(query, 5)[1]) == list(exact.dense_search(query, 5)[1])


def test_auto_is_not_stale_against_the_kind_it_resolves_to(tmp_path, embedder, small_collection):
    folder = tmp_path / "index"
    index, _ = build(folder, embedder, small_collection)
    assert is_current(index.manifest, [small_collection], Settings(faiss_index="flat"), embedder)
    assert not is_current(index.manifest, [small_collection], Settings(faiss_index="hnsw"), embedder)


def test_citeqa_index_leaves_an_unchanged_index_alone(tmp_path, small_collection):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "CITEQA_INDEX_DIR": str(tmp_path / "index")}
    citeqa = [str(Path(sys.executable).parent / "citeqa"), "--quiet", "index", str(small_collection)]
    subprocess.run(citeqa, env=env, check=True, capture_output=True)
    build_before = storage.current_build(tmp_path / "index")
    again = subprocess.run(citeqa, env=env, check=True, capture_output=True, text=True)
    assert "up to date" in again.stdout
    assert storage.current_build(tmp_path / "index") == build_before


def test_the_words_for_names_are_read_from_the_build_not_from_every_chunk(seed_index_dir):
    from app.index import Index

    index = open_current(seed_index_dir)
    computed = Index.vocabulary.func(index)  # what a build without words.txt computes from its chunks
    index.chunks = None  # reading a chunk now fails: the words must come from the build's file
    assert index.vocabulary == computed and "yamazaki" in computed


def test_each_chunk_vector_is_made_from_its_own_sentences(tmp_path, embedder, small_collection):
    """Chunks are not embedded; their vectors are made from their sentences' (and heading's). After an
    incremental build, in reused and new documents alike, a chunk's vector is nearest to its own
    sentences' mean of all chunks': a misaligned row would give a chunk another's meaning."""
    folder = tmp_path / "index"
    build(folder, embedder, small_collection)
    (small_collection / "new.md").write_text("# Zanzibar accord\n\nThe Zanzibar digital accord was signed in 2031. It binds nine ports.\n", encoding="utf-8")
    index, report = build(folder, embedder, small_collection)
    assert report.embedded == ["new.md"] and len(report.reused) == 3

    means = np.stack([
        np.array([len(s[2]) for s in c["sentences"]], dtype=np.float32) @ index.sentence_vectors[c["s0"] : c["s0"] + len(c["sentences"])]
        for c in index.chunks
    ])
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    similarity = np.asarray(index.vectors) @ means.T
    assert (similarity.argmax(axis=1) == np.arange(len(index.chunks))).all()
    assert np.diag(similarity).min() > 0.9  # the heading adds to the sentences, it does not replace them
    zanzibar = embedder.encode(["When was the Zanzibar accord signed?"])[0]
    assert index.chunks[int(np.argmax(np.asarray(index.vectors) @ zanzibar))]["doc"] == "new.md"
