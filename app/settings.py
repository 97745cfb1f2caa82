"""All configuration in one object, read from the environment (CITEQA_*)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

DEFAULT_MODEL_DIR = Path("~/.cache/citeqa/models")


class SettingsError(ValueError):
    """A setting has a value the program cannot use."""


def _parse(name: str, raw: str, kind: type):
    try:
        if kind is bool:
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        return kind(raw)
    except ValueError:
        raise SettingsError(
            f"environment variable CITEQA_{name.upper()}={raw!r} is not a valid {kind.__name__}"
        ) from None


@dataclass
class Settings:
    # Where the built index lives and which documents it is built from.
    index_dir: Path = Path("index")
    # postgresql://user:password@host/db: keep the index in PostgreSQL (with pgvector) instead, shared by several servers.
    database_url: str = field(default="", repr=False)
    # None: the sources the index was built from, or seeds/ for a new index.
    sources: list[Path] | None = None
    # Chunking, in cl100k tokens. 180 keeps a chunk inside MiniLM's 256 word-piece window.
    chunk_tokens: int = 180
    chunk_overlap: int = 40
    # A list longer than this is split between items; each part keeps the sentence that introduces it.
    max_list_tokens: int = 400
    # Retrieval.
    top_k: int = 5
    candidates: int = 30
    # "convex": dense_weight * cosine + (1 - dense_weight) * BM25 / best BM25; "rrf": reciprocal-rank fusion.
    fusion: str = "convex"
    dense_weight: float = 0.5
    rrf_k: int = 60
    # A follow-up's passages: this share of the score goes to the documents the conversation was about.
    context_weight: float = 0.6
    # "auto": exact search up to index.FLAT_LIMIT chunks, HNSW beyond (chosen by bench/faiss_types.py).
    faiss_index: str = "auto"
    # Answering.
    backend: str = "local"
    threads: int = 2
    batch_size: int = 16
    # Embedding arithmetic of builds ("auto": bfloat16 where the CPU has it in hardware, else
    # float32); questions are always embedded in float32 (embeddings.Embedder).
    embed_precision: str = "auto"
    # Documents added over HTTP are kept here and indexed with the sources.
    upload_dir: Path = Path("uploads")
    max_upload_bytes: int = 5_000_000
    # A server checks this often for a build another process published, and switches to it.
    follow_seconds: float = 2.0
    # The server runs one LLM generation at a time; this many more may wait, the rest get 503.
    max_queue: int = 8
    # Required for `serve` on an address other than loopback (bearer header, or the login page).
    api_token: str = field(default="", repr=False)
    # How long a browser stays signed in after /login.
    session_hours: float = 12.0
    # Host names the server answers to besides loopback names, IP literals and the bind address
    # (comma-separated; ".example.com" for every subdomain): the name a reverse proxy forwards.
    allowed_hosts: str = ""
    # The local LLM: a packaged model name (qwen2.5-0.5b, qwen2.5-1.5b) or a path to a .gguf file.
    llm_model: str = "qwen2.5-0.5b"
    # The joined GGUF files and the exported ONNX embedding graph.
    model_dir: Path = DEFAULT_MODEL_DIR
    n_ctx: int = 4096
    max_tokens: int = 160
    # Refuse when the LLM's own judgement that the passages answer (P("yes")) is below this; 0: never.
    judge_threshold: float = 0.0
    # Evidence fed to an LLM, in cl100k tokens: reading the prompt dominates time to first token.
    evidence_tokens: int = 600
    prompts_dir: Path = Path(__file__).resolve().parent.parent / "prompts"
    # Any OpenAI-compatible server (OPENAI_BASE_URL and OPENAI_API_KEY are read too).
    openai_base_url: str = ""
    openai_model: str = "default"
    openai_api_key: str = field(default="", repr=False)
    openai_timeout: float = 60.0
    openai_retries: int = 2

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "Settings":
        env = dict(os.environ if env is None else env)
        for ours, theirs in (("CITEQA_OPENAI_BASE_URL", "OPENAI_BASE_URL"), ("CITEQA_OPENAI_API_KEY", "OPENAI_API_KEY")):
            if ours not in env and theirs in env:
                env[ours] = env[theirs]
        values = {}
        for f in fields(cls):
            raw = env.get(f"CITEQA_{f.name.upper()}")
            if raw is None:
                continue
            if f.name == "sources":
                # several folders are separated like PATH entries
                values[f.name] = [Path(p) for p in raw.split(os.pathsep) if p]
            elif isinstance(f.default, Path):
                values[f.name] = Path(raw)
            else:
                values[f.name] = _parse(f.name, raw, type(f.default))
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.validate()
        return settings

    def __post_init__(self):
        self.index_dir = Path(self.index_dir)
        self.model_dir = Path(self.model_dir).expanduser()
        self.prompts_dir = Path(self.prompts_dir)
        self.upload_dir = Path(self.upload_dir)
        if self.sources is not None:
            self.sources = [Path(p) for p in self.sources]

    def validate(self) -> None:
        if self.chunk_tokens < 20:
            raise SettingsError(f"CITEQA_CHUNK_TOKENS={self.chunk_tokens} is too small: use 20 or more")
        if not 0 <= self.chunk_overlap < self.chunk_tokens:
            raise SettingsError(
                f"CITEQA_CHUNK_OVERLAP={self.chunk_overlap} must be between 0 and CITEQA_CHUNK_TOKENS-1"
            )
        if self.top_k < 1:
            raise SettingsError(f"top k = {self.top_k}: ask for at least 1 passage")
        if self.fusion not in ("convex", "rrf"):
            raise SettingsError(f"CITEQA_FUSION={self.fusion!r}: choose 'convex' or 'rrf'")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise SettingsError(f"CITEQA_DENSE_WEIGHT={self.dense_weight} must be between 0 and 1")
        if self.faiss_index not in ("auto", "flat", "hnsw"):
            raise SettingsError(f"CITEQA_FAISS_INDEX={self.faiss_index!r}: choose 'auto', 'flat' or 'hnsw'")
        if self.n_ctx < 512 or self.max_tokens < 16 or self.evidence_tokens < 50:
            raise SettingsError("CITEQA_N_CTX must be >= 512, CITEQA_MAX_TOKENS >= 16 and CITEQA_EVIDENCE_TOKENS >= 50")
        if self.evidence_tokens + self.max_tokens + 400 > self.n_ctx:
            raise SettingsError(
                f"CITEQA_EVIDENCE_TOKENS ({self.evidence_tokens}) + CITEQA_MAX_TOKENS ({self.max_tokens}) + the prompt "
                f"do not fit CITEQA_N_CTX ({self.n_ctx}); raise CITEQA_N_CTX or lower the others"
            )
        if self.embed_precision not in ("auto", "float32", "bfloat16"):
            raise SettingsError(f"CITEQA_EMBED_PRECISION={self.embed_precision!r}: choose 'auto', 'float32' or 'bfloat16'")
        if self.threads < 1:
            raise SettingsError(f"CITEQA_THREADS={self.threads} must be 1 or more")

    def chunking(self) -> dict:
        """What decides the chunks; an index built under anything else is stale."""
        from .chunking import PIPELINE_VERSION

        return {
            "pipeline": PIPELINE_VERSION,
            "chunk_tokens": self.chunk_tokens,
            "chunk_overlap": self.chunk_overlap,
            "max_list_tokens": self.max_list_tokens,
        }
