"""`unmask demo`: what README says it writes is what it writes, and its output folder is ignored by git."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from unmask.demo import run_demo

ROOT = Path(__file__).resolve().parents[1]


def _readme_demo_paragraph() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("The demo makes its own")
    return text[start:text.index("\n\n", start)]


def test_readme_says_what_the_demo_writes(tmp_path):
    paths = run_demo(tmp_path / "unmask-demo")
    paragraph = _readme_demo_paragraph()
    named = set(re.findall(r"`([\w-]+\.(?:png|json))`", paragraph))
    assert named == {p.name for p in paths.values()}, paragraph
    record = json.loads(paths["record"].read_text())
    assert record["region"]["source"] == "user mask"  # the painted mask is given: no region is found
    assert "painted" in paragraph and "region found" not in paragraph


def test_demo_output_is_ignored_by_git():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(["git", "check-ignore", "-q", "unmask-demo/result.png"], cwd=ROOT)
    assert ignored.returncode == 0, "unmask-demo/ (the README's demo folder) is not in .gitignore"
