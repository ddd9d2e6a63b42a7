"""`run_batch`: an album or a manifest through an executor, into an output folder, resumably.

Album: a SCAN job per photo decides (on the workers) which photos are masked; then a COMPLETE job
per masked photo, with the person's unmasked photos as references (a group photo, several masked
faces: every person's of the album, each face completed from its own person). Manifest: a COMPLETE job per
row. The client reads each job's files when the job is handed to a worker (so its memory does not
grow with the batch), and writes what comes back: OUT/<key> (the result), OUT/thumbs/<key>.before.jpg
and .after.jpg, OUT/records/<key>.<task>.json, and the report.

A job whose record holds the same content hash (input bytes + settings + unmask version) and a
reusable status (done with its output present, not masked, masked, failed) is not run again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from unmask.batch.executors import Executor
from unmask.batch.inputs import Photo, Target, album_photos, album_targets, read_manifest
from unmask.batch.jobs import COMPLETE, SCAN, Job, Settings, complete_job, scan_job
from unmask.batch.report import THUMBS, Records, write_report
from unmask.batch.work import DONE, ERROR, FAILED, MASKED, NOT_MASKED, Outcome, run_job
from unmask.errors import UnmaskError
from unmask.images import write_atomic

REUSABLE = (DONE, NOT_MASKED, MASKED, FAILED)
REPORT_EVERY = 10.0
"""Seconds between two writes of the report while a batch runs."""


@dataclass
class Summary:
    """How a batch ended: `counts` per status over the report's rows, how many jobs ran now and
    how many rows came from an earlier run, the report files, and the failed targets as (key,
    error) in input order."""

    counts: dict[str, int]
    ran: int
    reused: int
    report: list[Path]
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True when any target failed (or met an unexpected error)."""
        return self.counts.get(FAILED, 0) + self.counts.get(ERROR, 0) > 0


def run_batch(source: str | Path, out: str | Path, settings: Settings, executor: Executor,
              bars: bool = True, report_every: float = REPORT_EVERY) -> Summary:
    """Complete every target of `source` (an album folder or a manifest .csv) into the folder
    `out` with `executor`. Raises `UnmaskError` for an unusable input or output folder; a bad
    photo only makes its own row fail."""
    from unmask import __version__

    source, out = Path(source), Path(out)
    album = not (source.suffix.lower() == ".csv" and source.is_file())
    home = source if album else source.parent
    if out.resolve() == home.resolve() or (album and home.resolve() in out.resolve().parents):
        raise UnmaskError("the output folder must not be the input's folder or lie inside an album; "
                          "choose another -o", out)
    header = {"unmask_version": __version__, "input": str(source), "settings": {
        "method": settings.method, "options": settings.options, "seed": settings.seed,
        "strip_location": settings.strip_location}}
    items: list[Photo] | list[Target] = album_photos(source) if album else read_manifest(source)
    batch = _Batch(out, settings, executor, Records(out), bars, report_every, header)
    batch.keys = [item.key for item in items]
    try:
        if album:
            batch.run(SCAN, items, "looking for face masks")
            masked, unmasked = batch.keys_with(SCAN, MASKED), batch.keys_with(SCAN, NOT_MASKED)
            groups = {key for key in masked if (batch.records.get(SCAN, key) or {}).get("masked_faces", 1) > 1}
            batch.run(COMPLETE, album_targets(items, masked, unmasked, groups), "completing")
        else:
            batch.run(COMPLETE, items, "completing")
    finally:
        report = batch.write_report(final=True)
    return Summary(batch.counts(), batch.ran, batch.reused, report, batch.failures())


class _Batch:
    """The running batch: its records, what it writes, and when it last wrote the report."""

    def __init__(self, out: Path, settings: Settings, executor: Executor, records: Records, bars: bool,
                 report_every: float, header: dict[str, Any]):
        self.out, self.settings, self.executor, self.records = out, settings, executor, records
        self.bars, self.report_every, self.header = bars, report_every, header
        self.keys: list[str] = []
        self.ran = self.reused = 0
        self.last_report = time.monotonic()

    def run(self, task: str, items: list[Photo] | list[Target], description: str) -> None:
        """Run the `task` job of every item not done before (an earlier run's or this one's)."""
        from tqdm import tqdm

        todo = [item for item in items if not self._reuse(task, item)]
        by_key = {item.key: item for item in todo}
        with tqdm(total=len(todo), desc=description, unit="photo", disable=not self.bars or not todo,
                  postfix={"done before": len(items) - len(todo)} if len(todo) < len(items) else None) as bar:

            def keep(outcome: Outcome) -> None:
                self._keep(outcome, _inputs(by_key[outcome.key]))
                self.ran += 1
                bar.update()
                if time.monotonic() - self.last_report > self.report_every:
                    self.write_report(final=False)

            for _, outcome in self.executor.map(run_job, self._jobs(task, todo, keep)):
                keep(outcome)

    def keys_with(self, task: str, status: str) -> set[str]:
        """The keys whose `task` row has `status`."""
        return {key for key in self.keys if (self.records.get(task, key) or {}).get("status") == status}

    def counts(self) -> dict[str, int]:
        """Rows per status."""
        counts: dict[str, int] = {}
        for row in self._rows():
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        return counts

    def failures(self) -> list[tuple[str, str]]:
        """(key, error) of every row that failed or met an unexpected error, in input order."""
        return [(row["target"], row.get("error") or "") for row in self._rows() if row["status"] in (FAILED, ERROR)]

    def write_report(self, final: bool) -> list[Path]:
        """Write report.csv, report.json and index.html from the rows so far."""
        self.last_report = time.monotonic()
        header = {**self.header, "finished": final, "counts": self.counts(), "ran": self.ran, "reused": self.reused}
        return write_report(self.out, self._rows(), header, protect=[])

    def _rows(self) -> list[dict[str, Any]]:
        """One row per input key: its COMPLETE row, else its SCAN row (album), in input order."""
        rows = []
        for key in self.keys:
            row = self.records.get(COMPLETE, key) or self.records.get(SCAN, key)
            if row is not None:
                rows.append(row)
        return rows

    def _reuse(self, task: str, item: Photo | Target) -> bool:
        """True when an earlier record of this job, with the same hash, stands (counted as reused)."""
        earlier = self.records.get(task, item.key)
        if earlier is None or earlier["status"] not in REUSABLE:
            return False
        if earlier["status"] == DONE and not (self.out / item.key).is_file():
            return False
        try:
            digest = _make_job(task, item, self.settings).digest
        except UnmaskError:
            return False
        if digest != earlier["hash"]:
            return False
        self.reused += 1
        return True

    def _jobs(self, task: str, items: list[Photo] | list[Target], keep: Callable[[Outcome], None]) -> Iterator[Job]:
        """The jobs of `items`, each read when it is taken; an item whose files cannot be read is
        kept as failed here and gets no job. An album target's job carries what its scan found."""
        for item in items:
            found = self.records.bulky(SCAN, item.key, "found") if task == COMPLETE else None
            try:
                yield _make_job(task, item, self.settings, found)
            except UnmaskError as exc:
                keep(Outcome(task, item.key, "", FAILED, {"error": str(exc)}))

    def _keep(self, outcome: Outcome, protect: list[Path]) -> None:
        """Write what one job produced (a file that cannot be written fails the row) and its record."""
        key = outcome.key
        row: dict[str, Any] = {"task": outcome.task, "target": key, "status": outcome.status, "hash": outcome.digest,
                               "output": None, "before": None, "after": None, **outcome.row}
        files = {"before": (f"{THUMBS}/{key}.before.jpg", outcome.before),
                 "after": (f"{THUMBS}/{key}.after.jpg", outcome.after), "output": (key, outcome.image)}
        try:
            for name, (path, data) in files.items():
                if data is not None:
                    write_atomic(self.out / path, lambda handle, data=data: handle.write(data), protect=protect)
                    row[name] = path
        except UnmaskError as exc:
            row.update(status=FAILED, error=str(exc))
        row["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.records.add(row, protect)


def _make_job(task: str, item: Photo | Target, settings: Settings, found: dict[str, Any] | None = None) -> Job:
    return scan_job(item.key, item.path, settings) if task == SCAN else complete_job(item, settings, found)


def _inputs(item: Photo | Target) -> list[Path]:
    """The input files of one item (never written over)."""
    if isinstance(item, Photo):
        return [item.path]
    return [item.path, *item.references, *([item.mask] if item.mask else []),
            *(path for _, paths in item.people for path in paths)]
