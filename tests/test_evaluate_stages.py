"""`unmask eval` in every mode (synthetic, real, cases) completes through the same pipeline stages
as `unmask run`: prepare -> fill -> compose, counted here by wrapping them."""

from __future__ import annotations

from pathlib import Path

import pytest

from unmask import pipeline

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest


@pytest.fixture
def calls(monkeypatch) -> dict[str, int]:
    """How often each stage ran (the real stages still do the work)."""
    counted = {"prepare": 0, "fill": 0, "compose": 0}
    for name in counted:
        real = getattr(pipeline, name)

        def wrapper(*args, _real=real, _name=name, **kwargs):
            counted[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(pipeline, name, wrapper)
    return counted


def _one_person(people_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "people"
    folder.mkdir()
    (folder / "a").symlink_to(people_dir / "p10", target_is_directory=True)
    return folder


def test_synthetic_mode_runs_the_stages(people_dir, tmp_path, calls):
    from unmask.evaluation import evaluate

    report = evaluate(_one_person(people_dir, tmp_path), ["opencv-telea", "opencv-ns"], size=128, limit=1)
    assert [row["status"] for row in report.rows] == ["ok", "ok"], report.rows
    assert calls == {"prepare": 1, "fill": 2, "compose": 2}  # one scene, filled by each method


def test_real_mode_runs_the_stages(mfr2_dir, calls):
    from unmask.evaluation import evaluate

    report = evaluate(mfr2_dir, ["opencv-telea"], mode="real", size=128, limit=1)
    assert report.rows[0]["status"] == "ok", report.rows
    assert calls == {"prepare": 1, "fill": 1, "compose": 1}


def test_cases_mode_runs_the_stages(people_dir, tmp_path, calls):
    from unmask.evaluation import evaluate
    from unmask.evaluation.cases import write_synthetic_cases

    path, _ = write_synthetic_cases(_one_person(people_dir, tmp_path), tmp_path / "cases", limit=1)
    calls.update(prepare=0, fill=0, compose=0)  # writing the cases ran no stage
    report = evaluate(path, ["opencv-telea", "opencv-ns"], mode="cases", region="truth")
    assert [row["status"] for row in report.rows] == ["done", "done"], report.rows
    assert calls == {"prepare": 1, "fill": 2, "compose": 2}  # one scene, filled by each method
