"""The evaluation harness end to end on a small subset of the real photos."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from unmask.cli import cli
from unmask.errors import UnmaskError
from unmask.evaluation import evaluate
from unmask.evaluation.cases import real_cases, synthetic_cases
from unmask.evaluation.scores import IDENTITY_METRICS, IMAGE_METRICS
from unmask.images import read_image, write_image

METHODS = ["opencv-telea", "opencv-ns"]

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest


@pytest.fixture(scope="module")
def two_persons(people_dir, tmp_path_factory) -> Path:
    """A people folder with two persons (links to p10 and p06 of the shared photos)."""
    folder = tmp_path_factory.mktemp("people")
    for name, source in (("a", "p10"), ("b", "p06")):
        (folder / name).symlink_to(people_dir / source, target_is_directory=True)
    return folder


@pytest.fixture(scope="module")
def run(two_persons, tmp_path_factory):
    """`unmask eval` on both persons' first photo with both OpenCV methods."""
    out = tmp_path_factory.mktemp("eval")
    result = CliRunner().invoke(cli, ["eval", str(two_persons), *sum((["-m", m] for m in METHODS), []),
                                      "--size", "128", "--limit", "2", "--seed", "3", "-q", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_writes_every_file_and_prints_the_summary(run):
    out, output = run
    assert {p.name for p in out.iterdir()} == {"cases.csv", "cases.json", "summary.json", "sheet.png"}
    assert "psnr_region" in output and "identity_result" in output and "opencv-ns" in output
    sheet = read_image(out / "sheet.png")
    assert sheet.shape[0] > 2 * 160 and sheet.shape[1] > 5 * 160  # 2 cases x (masked, ref, 2 results, truth)
    assert len((out / "cases.csv").read_text().splitlines()) == 1 + 4


def test_every_case_is_scored_with_finite_metrics(run):
    rows = json.loads((run[0] / "cases.json").read_text())
    assert [(r["case"], r["method"]) for r in rows] == [(c, m) for c in ("a/1.jpg", "b/1.jpg") for m in METHODS]
    for row in rows:
        assert row["status"] == "ok", row
        assert row["reference"].endswith("2.jpg")  # the only other photo of each person
        for metric in (*IMAGE_METRICS, *IDENTITY_METRICS, "region_fraction"):
            assert math.isfinite(row[metric]), (metric, row)
        assert row["psnr_region"] < row["psnr_face"] and 0 < row["ssim_region"] < row["ssim_face"] < 1
    summary = json.loads((run[0] / "summary.json").read_text())
    for method in METHODS:
        entry = summary["methods"][method]
        assert entry["scored"] == 2 and entry["skipped"] == 0
        assert entry["metrics"]["psnr_region"]["n"] == 2
    assert set(summary["by_mask_kind"]) == {r["mask_kind"] for r in rows}


def test_same_seed_gives_the_same_numbers(run, two_persons):
    first = json.loads((run[0] / "cases.json").read_text())[: len(METHODS)]
    again = evaluate(two_persons, METHODS, size=128, limit=1, seed=3).rows  # the first case again
    assert len(again) == len(first)
    for a, b in zip(first, again):
        a.pop("seconds"), b.pop("seconds")
        assert a == b


def test_seed_chooses_references_and_mask_kinds(people_dir):
    kinds = {seed: [c.kind for c in synthetic_cases(people_dir, seed=seed)] for seed in (0, 1)}
    references = {seed: [c.reference for c in synthetic_cases(people_dir, seed=seed)] for seed in (0, 1)}
    assert kinds[0] != kinds[1] and references[0] != references[1]
    cases = synthetic_cases(people_dir, seed=0)
    assert len(cases) == len(list(people_dir.glob("*/*.jpg"))) and all(c.reference != c.target and c.reference.parent == c.target.parent for c in cases)
    assert [c.person for c in cases[:10]] == [f"p{i:02d}" for i in range(1, 11)]  # round robin


def test_a_photo_without_a_face_is_skipped_with_the_reason(people_dir, tmp_path):
    person = tmp_path / "people" / "c"
    person.mkdir(parents=True)
    write_image(person / "0.png", np.full((320, 320, 3), 128, np.uint8))
    (person / "1.jpg").symlink_to(people_dir / "p10" / "2.jpg")
    report = evaluate(tmp_path / "people", ["opencv-telea"], size=128, limit=1)
    assert [(r["status"], r["case"]) for r in report.rows] == [("skipped", "c/0.png")]
    assert "no face found" in report.rows[0]["reason"]
    assert report.summary["methods"]["opencv-telea"]["skipped"] == 1 and report.sheet is None


def test_bad_arguments_are_clear_errors(tmp_path, people_dir):
    with pytest.raises(UnmaskError, match="not a folder"):
        evaluate(tmp_path / "missing", METHODS)
    with pytest.raises(UnmaskError, match="at least two photos"):
        evaluate(tmp_path, METHODS)
    with pytest.raises(UnmaskError, match="no true region"):
        evaluate(people_dir, METHODS, mode="real", region="truth")
    with pytest.raises(UnmaskError, match="perceptual network"):
        evaluate(people_dir, METHODS, net="squeeze")
    with pytest.raises(UnmaskError, match="unknown method"):
        evaluate(people_dir, ["nope"])
    with pytest.raises(UnmaskError, match="labels.csv"):
        evaluate(people_dir, METHODS, mode="real")


def test_real_cases_pair_a_reference_with_a_different_probe(mfr2_dir):
    cases = real_cases(mfr2_dir, seed=0)
    assert cases
    for case in cases:
        assert case.reference != case.probe and case.reference.parent == case.probe.parent == case.target.parent


def test_real_mode_scores_identity_only(mfr2_dir, tmp_path):
    folder = tmp_path / "mfr2"
    (folder / "m01").mkdir(parents=True)
    for name in ("1.png", "2.png", "4.png"):
        (folder / "m01" / name).symlink_to(mfr2_dir / "m01" / name)
    (folder / "labels.csv").write_text("person,file,mask\nm01,1.png,surgical_blue\nm01,2.png,no-mask\n"
                                       "m01,4.png,no-mask\n")
    report = evaluate(folder, ["opencv-telea"], mode="real", size=128)
    [row] = report.rows
    assert row["status"] == "ok", row["reason"]
    assert {row["reference"], row["probe"]} == {str(folder / "m01" / "2.png"), str(folder / "m01" / "4.png")}
    for metric in IDENTITY_METRICS:
        assert 0 < row[metric] < 2
    assert not any(metric in row for metric in IMAGE_METRICS)  # no ground truth in real mode
    assert 0 < row["region_fraction"] < 0.5 and report.summary["region"] == "detected"
