import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from app.assistant import Assistant  # noqa: E402
from app.embeddings import Embedder  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.stores.folder import FolderStore  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
FED = "001_87eab1ca58c4959e.txt"


def distinct_copy(path, i: int) -> str:
    """The text of `path` with every sentence made its own (a build embeds each distinct text once)."""
    text = Path(path).read_text(encoding="utf-8")
    return "\n".join(f"Copy {i}: " + line.replace(". ", f". Copy {i}: ") if line.strip() else line for line in text.splitlines())


def open_current(index_dir):
    """The current build of the embedded index in `index_dir` (checksums verified)."""
    return FolderStore(index_dir).open()


@pytest.fixture(scope="session")
def embedder():
    return Embedder(threads=2)


@pytest.fixture(scope="session")
def seed_index_dir(tmp_path_factory, embedder):
    """An index of seeds/, built once for the whole session."""
    folder = tmp_path_factory.mktemp("seed") / "index"
    Assistant(Settings(index_dir=folder, sources=[SEEDS]), progress=False, embedder=embedder).ensure_index()
    return folder


@pytest.fixture(scope="session")
def assistant(seed_index_dir, embedder):
    """Answers with the extractive backend (deterministic, no LLM)."""
    a = Assistant(Settings(index_dir=seed_index_dir, sources=[SEEDS], backend="extractive"), progress=False, embedder=embedder)
    a.ensure_index()
    return a


@pytest.fixture(scope="session")
def llm_assistant(seed_index_dir, embedder):
    """Answers with the default local LLM, loaded once for the session."""
    a = Assistant(Settings(index_dir=seed_index_dir, sources=[SEEDS]), progress=False, embedder=embedder)
    a.ensure_index()
    return a


@pytest.fixture
def small_collection(tmp_path):
    """The three short seed documents, copied so that tests may change them."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("000_69525f96bd29f103.txt", "002_59de855d1fbbee2d.txt", "003_6f832b08e556fda3.txt"):
        shutil.copy(SEEDS / name, folder / name)
    return folder
