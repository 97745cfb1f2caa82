"""all-MiniLM-L6-v2 as an ONNX graph run by onnxruntime: sentence vectors without importing torch.

The weights package ships safetensors only, so the graph is exported from them once, offline,
by `export()` (at install, or by the first process that needs it), into the model folder:

    <model_dir>/all-MiniLM-L6-v2-<weights sha256[:12]>.onnx          the graph
    <model_dir>/all-MiniLM-L6-v2-<weights sha256[:12]>.onnx.sha256   its sha256, checked at every load

A graph whose sha256 does not match its record (damaged, half-copied, replaced) is exported again.
Before a graph is recorded, its vectors are checked against sentence-transformers, the reference.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import numpy as np

# What sentence-transformers does with this model (modules.json, 1_Pooling/config.json,
# sentence_bert_config.json): truncate to 256 word pieces, mean-pool the token states, normalise.
MAX_TOKENS = 256
CHECK_TEXTS = [
    "FED proposed seven issues.",
    "ASEAN",
    "The WTO Joint Statement Initiative on e-commerce brought together more than seventy members. " * 12,
]
# bfloat16 against float32 is 0.99996 (bench/embedding.py); an export must be far closer than that.
AGREEMENT = 0.9999


def graph_path(model_dir: Path, weights_sha256: str) -> Path:
    return Path(model_dir) / f"all-MiniLM-L6-v2-{weights_sha256[:12]}.onnx"


def _record(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


class OnnxMiniLM:
    """Encodes batches of texts with onnxruntime; one instance per process, used from one thread."""

    def __init__(self, graph: bytes, tokenizer_file: Path, threads: int):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle pool threads would otherwise spin on the cores the LLM and other requests need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding()

    def encode(self, texts: list[str]) -> np.ndarray:
        """Normalised float32 mean-pooled vectors, one row per text."""
        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        states = self.session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
        weights = mask[..., None].astype(np.float32)
        vectors = (states * weights).sum(1) / np.maximum(weights.sum(1), 1e-9)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def load(model_dir: Path, model: Path, weights_sha256: str, threads: int, progress: bool = True) -> OnnxMiniLM:
    """The exported graph, checked against its recorded sha256; exported first when missing or damaged."""
    path = graph_path(model_dir, weights_sha256)
    graph = _read_checked(path)
    if graph is None:
        if progress:
            print(f"preparing the embedding model for a fast start (once): {path}", file=sys.stderr, flush=True)
        export(model, path)
        graph = _read_checked(path)
        if graph is None:
            raise OSError(f"{path} changed while it was being written; run the command again")
    return OnnxMiniLM(graph, model / "tokenizer.json", threads)


def _read_checked(path: Path) -> bytes | None:
    try:
        graph = path.read_bytes()
        recorded = _record(path).read_text().strip()
    except OSError:
        return None
    return graph if hashlib.sha256(graph).hexdigest() == recorded else None


def export(model: Path, path: Path) -> None:
    """Export the model's transformer to `path`, check it against sentence-transformers, then record its sha256.

    Written under a temporary name and renamed, so a concurrent export or a crash never leaves a
    half-written graph under the real name."""
    import warnings

    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.logging.disable_progress_bar()
    transformers.logging.set_verbosity_error()
    reference = SentenceTransformer(str(model), device="cpu")
    bert = reference[0].auto_model.eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.partial")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = tuple(torch.ones(2, 16, dtype=torch.long) for _ in names)
    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(LastHiddenState(), example, str(tmp), input_names=names, output_names=["last_hidden_state"],
                              dynamic_axes=axes, opset_version=17, dynamo=False)
        graph = tmp.read_bytes()
        got = OnnxMiniLM(graph, model / "tokenizer.json", threads=1).encode(CHECK_TEXTS)
        want = reference.encode(CHECK_TEXTS, normalize_embeddings=True, convert_to_numpy=True)
        agreement = float((got * want).sum(1).min())
        if agreement < AGREEMENT:
            raise RuntimeError(f"the exported graph's vectors differ from sentence-transformers' (cosine {agreement:.6f}); not used")
        os.replace(tmp, path)
        digest_tmp = tmp.with_suffix(".sha256")
        digest_tmp.write_text(hashlib.sha256(graph).hexdigest() + "\n")
        os.replace(digest_tmp, _record(path))
    finally:
        tmp.unlink(missing_ok=True)
