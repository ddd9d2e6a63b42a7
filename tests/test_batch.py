"""unmask batch: albums and manifests processed to the end whatever their bad photos, reruns that
do no work, interrupted runs that resume, and the same bytes in this process, a process pool and
a Dask cluster whose workers see no file of ours."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unmask.batch import InProcess, ProcessPool, Settings, run_batch
from unmask.batch.report import failure_lines
from unmask.cli import main
from unmask.errors import FaceError, ImageError
from unmask.face import find_face
from unmask.region import render_mask
from unmask.images import read_image, write_image

SIDE = 320  # small photos keep the suite fast
PEOPLE = {"p01": ("1", "2", "5"), "p04": ("2", "3")}  # the first photo of each gets a painted mask
SETTINGS = Settings(method="warp")


def _small(path: Path) -> np.ndarray:
    image = Image.fromarray(read_image(path))
    image.thumbnail((SIDE, SIDE))
    return np.asarray(image)


@pytest.fixture(scope="module")
def album(people_dir, tmp_path_factory) -> Path:
    """ALBUM/<person>/: one masked photo and unmasked ones per person, plus in p04 a corrupt file
    and a photo without a face (the clothes under a face)."""
    folder = tmp_path_factory.mktemp("album") / "album"
    for person, names in PEOPLE.items():
        for index, name in enumerate(names):
            image = _small(people_dir / person / f"{name}.jpg")
            if index == 0:
                image, region = render_mask(image, find_face(image).landmarks, "surgical", 0)
                write_image(folder.parent / "regions" / f"{person}.png", region.astype(np.uint8) * 255)
            write_image(folder / person / f"{name}.jpg", image)
    clothes = _small(people_dir / "p04" / "4.jpg")[-120:, :160]
    with pytest.raises(FaceError):
        find_face(clothes)
    write_image(folder / "p04" / "clothes.png", clothes)
    (folder / "p04" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg" * 20)
    return folder


@pytest.fixture(scope="module")
def manifest(album, tmp_path_factory) -> Path:
    """cases/cases.csv: the two masked photos (copied beside it) with references in the album,
    all paths relative to the CSV; p04 with its region image as `mask` and `face` 0, p01 with a
    mask kind as `mask` (a cases.csv's, ignored)."""
    folder = tmp_path_factory.mktemp("manifest") / "cases"
    rows = []
    for person, names in PEOPLE.items():
        target = Path(person) / f"{names[0]}.jpg"
        (folder / person).mkdir(parents=True)
        shutil.copy(album / target, folder / target)
        shutil.copy(album.parent / "regions" / f"{person}.png", folder / person / "region.png")
        references = ";".join(os.path.relpath(album / person / f"{n}.jpg", folder) for n in names[1:])
        given = person == "p04"
        rows.append({"case": person, "target": target.as_posix(), "references": references,
                     "mask": f"{person}/region.png" if given else "surgical-1", "face": "0" if given else ""})
    with (folder / "cases.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder / "cases.csv"


@pytest.fixture(scope="module")
def local_run(manifest, tmp_path_factory) -> Path:
    """The manifest done in this process: the bytes every other executor must reproduce."""
    out = tmp_path_factory.mktemp("local") / "out"
    summary = run_batch(manifest, out, SETTINGS, InProcess(), bars=False)
    assert summary.counts == {"done": 2} and not summary.failed
    return out


def _report(out: Path) -> dict[str, dict[str, str]]:
    with (out / "report.csv").open(newline="") as handle:
        return {row["target"]: row for row in csv.DictReader(handle)}


def _outputs(out: Path) -> dict[str, bytes]:
    """Result images and thumbnails, by path relative to `out`."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.jpg"))}


def test_album_goes_to_the_end_and_a_rerun_does_no_work(album, tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        main(["batch", str(album), "-o", str(out), "--workers", "1", "--quiet"])
    assert exit_info.value.code == 1  # the corrupt photo and the faceless one failed
    rows = _report(out)
    assert {key: row["status"] for key, row in rows.items()} == {
        "p01/1.jpg": "done", "p01/2.jpg": "not masked", "p01/5.jpg": "not masked",
        "p04/2.jpg": "done", "p04/3.jpg": "not masked", "p04/broken.jpg": "failed", "p04/clothes.png": "failed"}
    with pytest.raises(ImageError) as unreadable:  # what `unmask run` says of this file
        read_image(album / "p04" / "broken.jpg")
    assert rows["p04/broken.jpg"]["error"] == str(unreadable.value)
    assert rows["p04/clothes.png"]["error"].startswith(f"{album / 'p04' / 'clothes.png'}: ")
    assert "face" in rows["p04/clothes.png"]["error"]
    assert rows["p01/1.jpg"]["reference"] in {str(album / "p01" / "2.jpg"), str(album / "p01" / "5.jpg")}  # unmasked
    assert 0 < float(rows["p01/1.jpg"]["identity_distance"]) < 1
    for key in ("p01/1.jpg", "p04/2.jpg"):
        result, masked = read_image(out / key), read_image(album / key)
        assert result.shape == masked.shape and (result != masked).any()
        assert (out / "thumbs" / f"{key}.before.jpg").is_file() and (out / "thumbs" / f"{key}.after.jpg").is_file()
    document = json.loads((out / "report.json").read_text())
    assert document["finished"] and document["counts"] == {"done": 2, "not masked": 3, "failed": 2}
    done = next(row for row in document["targets"] if row["target"] == "p01/1.jpg")
    assert len(done["hash"]) == 64 and set(done["timings"]) >= {"faces", "method"}
    page = (out / "index.html").read_text()
    assert "thumbs/p04/2.jpg.after.jpg" in page and "broken.jpg: image file is corrupt" in page
    first = capsys.readouterr()
    assert "0 done before" in first.out
    # the terminal says which files failed and why, one line each, and where the report is
    failed = [line for line in first.err.splitlines() if line.startswith("failed: ")]
    assert failed == [f"failed: {key}: {rows[key]['error']}" for key in ("p04/broken.jpg", "p04/clothes.png")]
    assert str(out / "report.csv") in first.err

    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.parent != out}
    with pytest.raises(SystemExit):
        main(["batch", str(album), "-o", str(out), "--workers", "1", "--quiet"])
    assert "(0 jobs run, 9 done before)" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # no result, thumbnail or record rewritten
    assert _report(out).keys() == rows.keys()


def test_changed_settings_redo_the_work(manifest, local_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(local_run, out)
    summary = run_batch(manifest, out, Settings(method="opencv-telea"), InProcess(), bars=False)
    assert summary.ran == 2 and summary.reused == 0
    assert _outputs(out)["p01/1.jpg"] != _outputs(local_run)["p01/1.jpg"]


def test_interrupted_batch_resumes(manifest, local_run, tmp_path, monkeypatch):
    import unmask.batch.runner as runner

    calls = []

    def interrupted(job):
        calls.append(job.key)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the user's Ctrl-C while the second target runs
        return real(job)

    real = runner.run_job
    out = tmp_path / "out"
    monkeypatch.setattr(runner, "run_job", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_batch(manifest, out, SETTINGS, InProcess(), bars=False)
    assert [row["status"] for row in _report(out).values()] == ["done"]  # the report holds the finished one

    calls.clear()
    monkeypatch.setattr(runner, "run_job", lambda job: calls.append(job.key) or real(job))
    summary = run_batch(manifest, out, SETTINGS, InProcess(), bars=False)
    assert calls == ["p04/2.jpg"] and summary.reused == 1 and summary.counts == {"done": 2}
    assert _outputs(out) == _outputs(local_run)


def test_manifest_paths_are_relative_to_the_csv(manifest, local_run, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    main(["batch", os.path.relpath(manifest, elsewhere), "-o", "out", "--workers", "1", "--quiet"])
    assert _outputs(elsewhere / "out") == _outputs(local_run)
    assert sorted(_report(elsewhere / "out")) == ["p01/1.jpg", "p04/2.jpg"]
    rows = {row["target"]: row for row in json.loads((elsewhere / "out" / "report.json").read_text())["targets"]}
    records = {key: json.loads((elsewhere / "out" / row["record_file"]).read_text())["record"] for key, row in rows.items()}
    assert records["p04/2.jpg"]["region"]["source"] == "user mask"
    assert records["p01/1.jpg"]["region"]["source"] == "detected"


@pytest.mark.slow
def test_process_pool_gives_the_same_bytes(manifest, local_run, tmp_path):
    with ProcessPool(2) as pool:
        summary = run_batch(manifest, tmp_path / "out", SETTINGS, pool, bars=False)
    assert summary.counts == {"done": 2}
    assert _outputs(tmp_path / "out") == _outputs(local_run)


@pytest.mark.slow
def test_dask_cluster_gives_the_same_bytes(manifest, local_run, tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    from unmask.batch import DaskCluster

    # the workers start in an empty folder: they can read none of the batch's files by path
    (tmp_path / "workers").mkdir()
    monkeypatch.chdir(tmp_path / "workers")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, local_directory=str(tmp_path / "workers")) as cluster:
        monkeypatch.chdir(tmp_path)
        with DaskCluster(cluster.scheduler_address) as executor:
            summary = run_batch(os.path.relpath(manifest), "out", SETTINGS, executor, bars=False)
    assert summary.counts == {"done": 2} and summary.ran == 2
    assert _outputs(tmp_path / "out") == _outputs(local_run)


def test_album_target_is_detected_once_with_the_same_result(album, monkeypatch):
    """The scan's face and region go to the COMPLETE job: no second detection, the same bytes."""
    import unmask.region
    from unmask.batch.inputs import Target
    from unmask.batch.jobs import complete_job, scan_job
    from unmask.batch.work import run_job

    target = Target("p01/1.jpg", album / "p01" / "1.jpg", (album / "p01" / "2.jpg", album / "p01" / "5.jpg"))
    scan = run_job(scan_job(target.key, target.path, SETTINGS))
    assert scan.status == "masked" and scan.row["found"]["faces"][0]["face"]["detector"]
    found = json.loads(json.dumps(scan.row["found"]))  # as the record file keeps it
    again = run_job(complete_job(target, SETTINGS))
    monkeypatch.setattr(unmask.region, "find_mask_region", lambda *args: pytest.fail("region found again"))
    once = run_job(complete_job(target, SETTINGS, found))
    assert once.status == again.status == "done"
    assert once.image == again.image and once.after == again.after
    records = []
    for outcome in (once, again):
        record = json.loads(json.dumps(outcome.row["record"]))
        del record["seconds"], record["completion"]["seconds"]  # timings
        records.append(record)
    assert records[0] == records[1]
    changed = dict(found, target="0" * 64)  # found on other bytes: detected again, not used
    monkeypatch.undo()
    assert run_job(complete_job(target, SETTINGS, changed)).image == again.image


def test_many_failures_are_listed_up_to_a_bound(tmp_path):
    failures = [(f"p{n:02d}/1.jpg", f"p{n:02d}/1.jpg: no face found") for n in range(25)]
    lines = failure_lines(failures, tmp_path / "report.csv", limit=20)
    assert lines[1:21] == [f"failed: {key}: {error}" for key, error in failures[:20]]
    assert len(lines) == 22 and "5 more" in lines[-1] and str(tmp_path / "report.csv") in lines[-1]
    assert failure_lines([], tmp_path / "report.csv") == []
