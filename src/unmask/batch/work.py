"""What a worker does with a job: decode the shipped bytes, look for a face mask (SCAN) or run
`unmask.complete` (COMPLETE), and hand back the encoded result, thumbnails and a report row.

Runs the same in the client process, in a local process pool or on a Dask worker: it reads no
file and writes none, and the same job always gives the same bytes.
"""

from __future__ import annotations

import dataclasses
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from unmask.batch.found import found_record, found_scene
from unmask.batch.jobs import SCAN, File, Job
from unmask.errors import UnmaskError
from unmask.images import NamedImage, encode_image, read_image_bytes, read_photo_bytes

if TYPE_CHECKING:
    from unmask.pipeline import Scene

DONE = "done"
NOT_MASKED = "not masked"
MASKED = "masked"
"""A scanned album photo with a face mask, not completed yet (only while a batch runs)."""
FAILED = "failed"
"""The input cannot be used (an `UnmaskError`: its one-line message is the row's `error`)."""
ERROR = "error"
"""An unexpected exception (a bug): reported, and retried by the next run."""


@dataclass
class Outcome:
    """What came of one job: its status, the report row's fields (reference, identity_distance,
    seconds, timings, error, warnings, record), and the encoded result image and the before/after
    thumbnails when there are some."""

    task: str
    key: str
    digest: str
    status: str = FAILED
    row: dict[str, Any] = field(default_factory=dict)
    image: bytes | None = None
    before: bytes | None = None
    after: bytes | None = None


def run_job(job: Job) -> Outcome:
    """Do one job. Never raises for a bad photo (status FAILED with the message) nor for an
    unexpected exception (status ERROR with the traceback in the row): one photo never stops a
    batch."""
    start = time.perf_counter()
    outcome = Outcome(job.task, job.key, job.digest)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            (_scan if job.task == SCAN else _complete)(job, outcome)
        except UnmaskError as exc:
            outcome.status, outcome.row["error"] = FAILED, str(exc)
        except Exception as exc:  # noqa: BLE001 - a bug on one photo is reported, the batch goes on
            outcome.status, outcome.row["error"] = ERROR, f"unexpected {type(exc).__name__}: {exc}"
            outcome.row["traceback"] = traceback.format_exc()
    outcome.row["warnings"] = "; ".join(dict.fromkeys(str(w.message) for w in caught))
    outcome.row["seconds"] = round(time.perf_counter() - start, 3)
    return outcome


def thumbnail(image: np.ndarray, size: int, box: tuple[float, float, float, float] | None = None) -> bytes:
    """A JPEG thumbnail of a uint8 (H, W, 3) image, its longest side at most `size` pixels; with
    `box` (x0, y0, x1, y1, a face), of a square twice the box's size around it."""
    from PIL import Image

    small = Image.fromarray(image)
    if box is not None:
        x0, y0, x1, y1 = box
        half = max(x1 - x0, y1 - y0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        small = small.crop(tuple(int(round(v)) for v in (max(cx - half, 0), max(cy - half, 0),
                                                          min(cx + half, image.shape[1]), min(cy + half, image.shape[0]))))
    small.thumbnail((size, size), Image.Resampling.LANCZOS)
    return encode_image(small, "thumbnail.jpg")


def _scan(job: Job, outcome: Outcome) -> None:
    from unmask.pipeline import ERROR as FACE_ERROR
    from unmask.pipeline import locate

    image = read_image_bytes(job.target.data, job.target.path)
    outcome.before = thumbnail(image, job.settings.thumb_size)
    scene = locate(NamedImage(Path(job.target.path), image), every=True)
    masked = scene.to_fill()
    if not masked and scene.faces[0].status == FACE_ERROR:
        raise UnmaskError(scene.faces[0].message, job.target.path)  # the largest face is too small
    outcome.status = MASKED if masked else NOT_MASKED
    scores = [spot.found.score for spot in scene.faces if spot.found is not None]
    outcome.row["mask_score"] = round(float(max(scores, default=0.0)), 4)
    outcome.row["masked_faces"] = len(masked)
    if outcome.status == MASKED:
        outcome.row["found"] = found_record(job.target.data, scene)


def _complete(job: Job, outcome: Outcome) -> None:
    from unmask.pipeline import COMPLETED, complete
    from unmask.region import mask_from_image

    target = _decode(job.target)
    outcome.before = thumbnail(target.pixels, job.settings.thumb_size)  # the whole photo, should it fail
    mask = None
    if job.mask is not None:
        mask = mask_from_image(read_image_bytes(job.mask.data, job.mask.path), target.pixels.shape[:2], job.mask.path)
    settings = job.settings
    photo: NamedImage | Scene = target
    scene = None if mask is not None or job.face is not None or job.found is None else (
        found_scene(job.found, job.target.data, target))  # None: the file changed since the scan
    group = scene is not None and bool(job.people) and len(scene.to_fill()) > 1
    if scene is not None and scene.to_fill():
        # the scan's faces: every one of a group photo, else the (first) masked face alone
        photo = scene if group else dataclasses.replace(scene, faces=[scene.faces[scene.to_fill()[0]]], group=False)
    given: dict[str, Any] = ({"people": {name: [_decode(f) for f in files] for name, files in job.people}} if group
                             else {"reference": [_decode(file) for file in job.references]})
    if not group and not job.references:
        raise UnmaskError("no reference: every other photo of this person has a face mask or cannot be used",
                          job.target.path)
    result = complete(photo, mask=mask, face=job.face if photo is target else None, method=settings.method,
                      seed=settings.seed, **given, **settings.options)
    record = result.record
    if isinstance(record["faces"], list):  # a group photo's record (also one person's on several masked faces)
        done = [entry for entry in record["faces"] if entry["status"] == COMPLETED]
        box, reference = None, "; ".join(f"face {e['face']}: {e['person']} ({e['reference']})" for e in done)
        distance = max(entry["identity_distance"] for entry in done)
    else:
        box, reference, distance = (record["faces"]["target"]["box"], record["inputs"]["reference"],
                                    record["identity_distance"])
    outcome.image = encode_image(result.image, job.key, result.photo, settings.strip_location)
    outcome.before = thumbnail(target.pixels, settings.thumb_size, box)
    outcome.after = thumbnail(result.image, settings.thumb_size, box)
    outcome.row.update(reference=reference, identity_distance=distance, timings=record["seconds"], record=record)
    outcome.status = DONE


def _decode(file: File) -> NamedImage:
    return read_photo_bytes(file.data, file.path)
