"""Which commands import the heavy runtimes: a question must not pay for torch or a model it does not use."""

import json
import os
import subprocess
import sys

import pytest

from conftest import FED, ROOT, SEEDS

HEAVY = ("torch", "sentence_transformers", "transformers", "llama_cpp")
PROBE = """
import json, sys
from app import cli
try:
    status = cli.main(sys.argv[1:])
except SystemExit as e:
    status = e.code
print(json.dumps({"status": status, "loaded": [m for m in %r if m in sys.modules]}), file=sys.stderr)
""" % (HEAVY,)


def run(args, index_dir, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CITEQA_SOURCES": str(SEEDS), "CITEQA_UPLOAD_DIR": str(tmp_path / "uploads")}
    proc = subprocess.run([sys.executable, "-c", PROBE, "--index-dir", str(index_dir), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    return json.loads(proc.stderr.strip().splitlines()[-1]) | {"stderr": proc.stderr}


@pytest.mark.parametrize("args", [
    ["--help"],
    ["docs"],
    ["show", f"{FED}:0"],
    ["index"],  # nothing changed: nothing to embed
    ["ask", "--backend", "extractive", "What did FED propose?"],
])
def test_commands_that_need_no_model_runtime_import_none(args, seed_index_dir, tmp_path):
    result = run(args, seed_index_dir, tmp_path)
    assert (result["status"], result["loaded"]) == (0, [])


def test_an_llm_answer_loads_llama_cpp_but_not_torch(seed_index_dir, tmp_path):
    result = run(["ask", "--backend", "local", "What did FED propose?"], seed_index_dir, tmp_path)
    assert result["status"] == 0 and result["loaded"] == ["llama_cpp"]
    assert "loading the local model" in result["stderr"]  # a status line while it loads


def test_indexing_a_few_documents_needs_no_torch_either(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "note.md").write_text("# Port notes\n\nThe Port of Valdora opened a drone cargo terminal in 2031.\n", encoding="utf-8")
    result = run(["index", str(docs)], tmp_path / "index", tmp_path)
    assert (result["status"], result["loaded"]) == (0, [])  # a build this small embeds through onnxruntime
