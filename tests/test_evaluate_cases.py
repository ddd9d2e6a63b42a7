"""`unmask eval --cases`: a cases.csv of two masked photos (one the pipeline refuses) scored end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from unmask.cli import cli
from unmask.errors import UnmaskError
from unmask.evaluation.cases import read_cases
from unmask.evaluation.scores import photo_scores
from unmask.images import read_image, write_image
from unmask.evaluation.sheets import SHEET_HEIGHT, SORTS

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest


@pytest.fixture(scope="module")
def cases_csv(people_dir, tmp_path_factory) -> Path:
    """cases.csv in make_cases.py's format: a procedural surgical mask on p10/1.jpg, and a grey
    photo without a face (the pipeline refuses it); references relative to the csv."""
    from unmask.face import find_face
    from unmask.region import render_mask

    folder = tmp_path_factory.mktemp("cases")
    truth = read_image(people_dir / "p10" / "1.jpg")
    masked, region = render_mask(truth, find_face(truth).landmarks, "surgical", 0)
    grey = np.full((240, 320, 3), 128, np.uint8)
    blank_region = np.zeros((240, 320), bool)
    blank_region[120:200, 100:220] = True
    for name, (target, mask, original) in {"a": (masked, region, truth), "b": (grey, blank_region, grey)}.items():
        (folder / name).mkdir()
        write_image(folder / name / "target.png", target)
        write_image(folder / name / "region.png", mask.astype(np.uint8) * 255)
        write_image(folder / name / "truth.png", original)
    (folder / "refs").mkdir()
    (folder / "refs" / "2.jpg").symlink_to(people_dir / "p10" / "2.jpg")
    rows = [f"{n},p10,{kind},{n}/target.png,{n}/region.png,{n}/truth.png,refs/2.jpg;refs/missing-is-unused.jpg"
            for n, kind in (("a", "surgical"), ("b", "none"))]
    (folder / "cases.csv").write_text("case,person,mask,target,region,truth,references\n" + "\n".join(rows) + "\n")
    return folder / "cases.csv"


@pytest.fixture(scope="module")
def run(cases_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval")
    result = CliRunner().invoke(cli, ["eval", "--cases", str(cases_csv), "-m", "opencv-telea", "--region", "truth",
                                      "-q", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_writes_the_report_and_prints_the_summary(run):
    out, output = run
    assert {p.name for p in out.iterdir()} == {"cases.csv", "cases.json", "summary.json", "sheet.png", "sheets"}
    assert "remnant" in output and "chroma90" in output and "1 / 2" in output  # done / cases
    assert "light90 > 20" in output and "collateral > 5%" in output and "seam_texture" in output
    assert "extra_area > 5%" in output and "missed_area" in output
    assert read_image(out / "sheet.png").shape[1] > 3 * 200  # masked | result | truth | remnant map
    # one full-size sheet per metric (two cases: one sheet each), rows of faces at least 600 px tall
    assert {p.name for p in (out / "sheets").iterdir()} == {f"opencv-telea-{m}-1.png" for m in SORTS}
    sheet = read_image(out / "sheets" / "opencv-telea-light90-1.png")
    assert sheet.shape[0] > 2 * SHEET_HEIGHT and sheet.shape[1] > 3 * SHEET_HEIGHT * 0.5


def test_a_refused_case_is_scored_as_the_masked_photo(run):
    rows = {r["case"]: r for r in json.loads((run[0] / "cases.json").read_text())}
    done, failed = rows["a"], rows["b"]
    assert done["status"] == "done" and done["message"] == ""
    assert done["remnant"] < 0.01 and 0 < done["chroma90"] < 30 and 0 < done["identity"] < done["identity_masked"]
    assert math.isfinite(done["psnr_region"]) and 0 < done["ssim_region"] < 1
    assert failed["status"] == "failed" and "no face" in failed["message"] and "\n" not in failed["message"]
    assert failed["remnant"] == 1.0 and failed["chroma90"] == 0.0  # the grey photo is its own truth
    assert failed["identity"] is None  # no face in the truth: identity not scored (NaN -> null)
    assert 0 < done["light90"] < 60 and 0 <= done["collateral"] < 0.2 and done["seam"] > 0 and done["seam_texture"] > 0
    assert failed["light90"] == failed["collateral"] == failed["seam"] == 0.0  # the grey photo is its own truth
    summary = json.loads((run[0] / "summary.json").read_text())
    entry = summary["methods"]["opencv-telea"]
    assert (entry["cases"], entry["done"], entry["failed"], entry["remnant_over_1pct"]) == (2, 1, 1, 1)
    assert entry["metrics"]["remnant"]["n"] == 2 and entry["metrics"]["identity"]["n"] == 1
    assert entry["light90_over_20"] == (done["light90"] > 20) and entry["collateral_over_5pct"] == 0
    # the truth given is the region filled; the refused case filled nothing
    assert (done["extra_area"], done["missed_area"], failed["extra_area"], failed["missed_area"]) == (0, 0, 0, 1)
    assert (entry["extra_area_over_5pct"], entry["missed_area_over_1pct"]) == (0, 1)
    assert entry["metrics"]["missed_area"]["median"] == 0.5
    light = entry["metrics"]["light90"]
    assert light["max"] == done["light90"] and light["median"] <= light["p90"] <= light["max"]
    assert entry["failures"] == [f"b: {failed['message']}"]
    assert set(summary["by_mask_kind"]) == {"surgical", "none"} and summary["region"] == "truth"


def test_photo_scores_of_the_masked_photo(cases_csv):
    from unmask.face import find_face
    from unmask.region import load_user_mask

    [case, _] = read_cases(cases_csv)
    masked, truth = read_image(case.target), read_image(case.truth)
    region = load_user_mask(case.region, masked.shape[:2])
    scores = photo_scores(masked, masked, truth, region, find_face(truth).landmarks)
    assert scores["remnant"] == 1.0 and scores["chroma90"] > 5  # the mask's colour
    assert scores["identity"] == scores["identity_masked"] > 0.1
    assert scores["light90"] > 5 and scores["seam"] > 5  # the flat mask against the face
    assert scores["collateral"] == 0.0  # nothing outside the region changed
    perfect = photo_scores(truth, masked, truth, region, None)
    assert perfect["chroma90"] == perfect["light90"] == perfect["seam"] == perfect["seam_texture"] == 0.0
    assert perfect["collateral"] == 0.0


def test_bad_cases_files_are_clear_errors(cases_csv, tmp_path):
    with pytest.raises(UnmaskError, match="not found"):
        read_cases(tmp_path / "cases.csv")
    bad = tmp_path / "cases.csv"
    bad.write_text("case,target\na,a.png\n")
    with pytest.raises(UnmaskError, match="missing columns"):
        read_cases(bad)
    bad.write_text(cases_csv.read_text().replace("a/truth.png", "a/nope.png"))
    with pytest.raises(UnmaskError, match="line 2: case a: file not found"):
        read_cases(bad)
    result = CliRunner().invoke(cli, ["eval", "--cases", str(cases_csv), "-m", "warp", "--option", "nope=1",
                                      "-o", str(tmp_path / "out")])
    assert isinstance(result.exception, UnmaskError) and "nope" in str(result.exception)  # refused before any case
    result = CliRunner().invoke(cli, ["eval", "-m", "warp", "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and "either FOLDER or --cases" in result.output


def test_procedural_cases_are_written_for_eval_cases(people_dir, tmp_path):
    """`unmask cases` writes the synthetic mode's first case as files that `read_cases` accepts."""
    from unmask.evaluation.cases import synthetic_cases
    from unmask.region import load_user_mask

    people = tmp_path / "people"
    people.mkdir()
    (people / "a").symlink_to(people_dir / "p10", target_is_directory=True)
    result = CliRunner().invoke(cli, ["cases", str(people), "-o", str(tmp_path / "cases"), "--seed", "2",
                                      "--limit", "1"])
    assert result.exit_code == 0, result.output
    [case] = read_cases(tmp_path / "cases" / "cases.csv")
    [synthetic] = synthetic_cases(people, seed=2, limit=1)
    assert (case.person, case.mask, case.truth.resolve()) == ("a", synthetic.kind, synthetic.target.resolve())
    assert case.references[0].resolve() == synthetic.reference.resolve()
    assert {p.resolve() for p in case.references} == {p.resolve() for p in people.glob("a/*.jpg")} - {case.truth.resolve()}
    masked, truth = read_image(case.target), read_image(case.truth)
    assert np.array_equal(load_user_mask(case.region, masked.shape[:2]), np.any(masked != truth, axis=2))


def test_all_references_are_ranked_and_a_missing_one_skipped(cases_csv, tmp_path):
    result = CliRunner().invoke(cli, ["eval", "--cases", str(cases_csv), "-m", "opencv-telea", "--region", "truth",
                                      "--all-references", "--limit", "1", "-q", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    row = json.loads((tmp_path / "cases.json").read_text())[0]
    assert row["status"] == "done" and row["reference"] == str(cases_csv.parent / "refs" / "2.jpg")
    assert "skipping reference" in row["warnings"] and "missing-is-unused.jpg" in row["warnings"]
    assert json.loads((tmp_path / "summary.json").read_text())["all_references"] is True


@pytest.mark.slow
def test_cases_run_on_a_process_pool_score_the_same(run, cases_csv, tmp_path):
    result = CliRunner().invoke(cli, ["eval", "--cases", str(cases_csv), "-m", "opencv-telea", "--region", "truth",
                                      "--workers", "2", "-q", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    local, pooled = (json.loads((out / "cases.json").read_text()) for out in (run[0], tmp_path))
    assert [r["case"] for r in pooled] == [r["case"] for r in local]  # in the cases' order
    for a, b in zip(local, pooled):
        assert {k: v for k, v in a.items() if k != "seconds"} == pytest.approx(
            {k: v for k, v in b.items() if k != "seconds"}, rel=1e-4, nan_ok=True)


def test_the_region_is_found_by_default(cases_csv):
    """Without --region truth the pipeline looks for the mask itself: it either fills what it found
    (most of the painted mask) or says it found none (a message that a given region never gives)."""
    from unmask.evaluation import evaluate

    report = evaluate(cases_csv, ["opencv-telea"], mode="cases", limit=1)
    [row] = report.rows
    assert row["region"] == report.summary["region"] == "detected"
    if row["status"] == "done":
        assert row["remnant"] < 0.5
        # the found region is scored against the painted one: the finder's own
        from unmask.face import find_face
        from unmask.region import find_mask_region, load_user_mask
        from unmask.metrics import region_areas

        [case, _] = read_cases(cases_csv)
        masked = read_image(case.target)
        found = find_mask_region(masked, find_face(masked)).mask
        expected = region_areas(found, load_user_mask(case.region, masked.shape[:2]))
        assert (row["extra_area"], row["missed_area"]) == pytest.approx(
            (expected["extra_area"], expected["missed_area"]))
        assert 0 < row["extra_area"] < 0.5 and row["missed_area"] < 0.5
    else:
        assert row["message"].startswith(("no face mask found", "a face mask is seen")) and row["remnant"] == 1.0
        assert row["missed_area"] == 1.0 and row["extra_area"] == 0.0
