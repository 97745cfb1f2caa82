"""No Docker engine runs here, so the Dockerfile is held to scripts that do run: its steps cannot rot."""

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, open_current


def run_steps() -> list[str]:
    text = (ROOT / "Dockerfile").read_text()
    return [m.group(1).strip() for m in re.finditer(r"^RUN (.+)$", text, re.M)]


def test_the_dockerfile_installs_and_bakes_with_the_project_scripts():
    steps = run_steps()
    assert "sh scripts/install.sh /app/.venv" in steps and "sh scripts/bake.sh /app/.venv" in steps
    for step in steps:
        for script in re.findall(r"scripts/[\w.-]+", step):
            assert (ROOT / script).is_file(), script
    makefile = (ROOT / "Makefile").read_text()
    assert "sh scripts/install.sh $(VENV)" in makefile  # the README's install is the Dockerfile's
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER citeqa$", text, re.M) and "HEALTHCHECK" in text and "/api/health" in text


def test_the_bake_script_builds_the_index_and_joins_the_model(tmp_path):
    venv = Path(sys.executable).parent.parent
    env = {**os.environ, "CITEQA_INDEX_DIR": str(tmp_path / "index"), "CITEQA_SOURCES": str(ROOT / "seeds")}
    r = subprocess.run(["sh", str(ROOT / "scripts" / "bake.sh"), str(venv)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    model = r.stdout.strip().splitlines()[-1]
    assert model.endswith(".gguf") and Path(model).is_file()
    assert len(open_current(tmp_path / "index").documents) == 4
