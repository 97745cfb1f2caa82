import shutil

import numpy as np
import pytest

from app import onnx_model
from app.assistant import Assistant
from app.embeddings import MODEL_SHA256, Embedder, model_path, native_bfloat16
from app.settings import DEFAULT_MODEL_DIR, Settings, SettingsError

TEXTS = [
    "FED proposed seven issues.",
    "The WTO Joint Statement Initiative on e-commerce brought together more than seventy members, who met in a series of "
    "small group meetings in Geneva to discuss consumer protection, paperless trading, electronic signatures, spam and data flows.",
    "ASEAN",
    "UNCTAD E-Commerce Week 2017 gathered ministers, business leaders and civil society in Geneva.",
    "A long passage that runs past the model's 256 word pieces, so truncation must match too. " * 30,
]

QUESTIONS = ["Who chaired the meetings?", "What is eWTP?", "What does the ASEAN agreement cover?"]


def test_vectors_come_back_in_the_order_of_the_texts(embedder):
    # The embedder sorts texts by length to batch them; each row must still belong to its own text.
    together = embedder.encode(TEXTS)
    alone = np.concatenate([embedder.encode([t]) for t in TEXTS])
    assert np.allclose((together * alone).sum(1), 1.0, atol=1e-3)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_onnxruntime_vectors_agree_with_sentence_transformers(embedder):
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(model_path()), device="cpu").encode(TEXTS, normalize_embeddings=True)
    assert (embedder.encode(TEXTS) * reference).sum(1).min() > 0.9999  # questions: onnxruntime
    bulk = Embedder(precision="float32").encode(TEXTS * 20)  # a build in float32: onnxruntime too
    assert (bulk * np.tile(reference, (20, 1))).sum(1).min() > 0.9999


@pytest.mark.skipif(not native_bfloat16(), reason="this CPU has no hardware bfloat16")
def test_bfloat16_vectors_of_a_build_stay_within_a_hair_of_float32():
    fast = Embedder(precision="bfloat16").encode(TEXTS * 20)
    exact = Embedder(precision="float32").encode(TEXTS * 20)
    assert (fast * exact).sum(1).min() > 0.9999


def test_after_a_build_the_torch_threads_are_freed_and_the_next_build_loads_them_again():
    import threading

    embedder = Embedder(precision="bfloat16")  # a build through sentence-transformers, on any CPU
    first = embedder.encode(TEXTS * 20, bulk=True)
    assert any(t.name.startswith("embedder-bulk") for t in threading.enumerate())
    embedder.release_bulk()
    assert not any(t.name.startswith("embedder-bulk") for t in threading.enumerate())
    assert "_torch" not in vars(embedder)
    assert embedder.encode(QUESTIONS).shape == (3, 384)  # questions go on through onnxruntime
    again = embedder.encode(TEXTS * 20, bulk=True)
    assert (first * again).sum(1).min() > 0.9999


def test_an_index_built_through_either_runtime_answers_the_same(tmp_path, small_collection):
    answers = []
    for precision in ("float32", "bfloat16"):  # onnxruntime, sentence-transformers
        a = Assistant(Settings(index_dir=tmp_path / precision, sources=[small_collection], backend="extractive", embed_precision=precision),
                      progress=False)
        a.ensure_index()
        answers.append([([p.passage_id for p in r.passages], r.answer) for r in map(a.ask, QUESTIONS)])
    assert answers[0] == answers[1]


def test_a_damaged_graph_is_exported_again_and_then_used(tmp_path):
    Embedder().load()  # the graph this test damages a copy of
    graph = onnx_model.graph_path(tmp_path, MODEL_SHA256)
    shutil.copy(onnx_model.graph_path(DEFAULT_MODEL_DIR.expanduser(), MODEL_SHA256), graph)
    shutil.copy(str(onnx_model.graph_path(DEFAULT_MODEL_DIR.expanduser(), MODEL_SHA256)) + ".sha256", str(graph) + ".sha256")
    with open(graph, "r+b") as f:  # one flipped byte inside the weights
        f.seek(graph.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))
    vectors = Embedder(model_dir=tmp_path).encode(TEXTS)
    assert onnx_model._read_checked(graph) is not None  # a fresh export, recorded
    assert (vectors * Embedder().encode(TEXTS)).sum(1).min() > 0.9999


def test_an_unknown_precision_is_refused_naming_the_setting():
    with pytest.raises(SettingsError, match="CITEQA_EMBED_PRECISION"):
        Settings.from_env({"CITEQA_EMBED_PRECISION": "int4"})
