"""Jobs as they travel to a worker: the files' bytes (read on the client, so workers need no
shared folder), the settings, and a content hash that says whether a job was already done."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unmask.batch.inputs import Target
from unmask.errors import ImageError, UnmaskError

SCAN = "scan"
COMPLETE = "complete"


@dataclass(frozen=True)
class Settings:
    """What decides a result besides the input files: the method, its options, the seed, the
    thumbnails' longest side in pixels, and whether the results' EXIF leaves out the GPS location."""

    method: str = "warp"
    options: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    thumb_size: int = 160
    strip_location: bool = False

    def to_json(self) -> str:
        """The settings as canonical JSON (sorted keys), as hashed and reported."""
        return json.dumps({"method": self.method, "options": self.options, "seed": self.seed,
                           "thumb_size": self.thumb_size, "strip_location": self.strip_location},
                          sort_keys=True, default=str)


@dataclass(frozen=True)
class File:
    """A file's bytes and its path as the user named it (messages name that path)."""

    path: str
    data: bytes


@dataclass(frozen=True)
class Job:
    """One unit of work: `task` SCAN (is the photo masked?) or COMPLETE; `key` says where the
    result goes (OUT/key); `digest` is the content hash of everything that decides the outcome;
    `found`: what the album's scan found on the target (`batch.found.found_record`), so it is not
    detected again (not hashed: the same bytes give the same faces); `people`: for a group photo
    of an album, every person's (name, unmasked photos), each masked face completed from its own."""

    task: str
    key: str
    target: File
    settings: Settings
    references: tuple[File, ...] = ()
    mask: File | None = None
    face: int | None = None
    digest: str = ""
    found: dict[str, Any] | None = None
    people: tuple[tuple[str, tuple[File, ...]], ...] = ()


def read_file(path: Path) -> File:
    """The bytes of `path`; `ImageError` naming it when it cannot be read."""
    try:
        return File(str(path), path.read_bytes())
    except FileNotFoundError:
        raise ImageError("file not found", path) from None
    except IsADirectoryError:
        raise ImageError("is a folder, not an image file", path) from None
    except OSError as exc:
        raise ImageError(f"cannot read the file ({exc.strerror})", path) from None


def scan_job(key: str, path: Path, settings: Settings) -> Job:
    """The job that decides whether the album photo at `path` is masked (reads the file)."""
    target = read_file(path)
    return Job(SCAN, key, target, settings, digest=_digest(SCAN, settings, None, [target]))


def complete_job(target: Target, settings: Settings, found: dict[str, Any] | None = None) -> Job:
    """The job that completes `target` (reads its files; `UnmaskError` when one cannot be read or
    there is no reference nor people), with what a scan `found` on it if any."""
    if not target.references and not target.people:
        raise UnmaskError("no reference: every other photo of this person has a face mask or cannot be used",
                          target.path)
    files = [read_file(target.path), *(read_file(p) for p in target.references)]
    mask = None if target.mask is None else read_file(target.mask)
    people = tuple((name, tuple(read_file(p) for p in paths)) for name, paths in target.people)
    hashed = files + ([mask] if mask else []) + [File(name, name.encode()) for name, _ in people]
    digest = _digest(COMPLETE, settings, target.face, hashed + [f for _, group in people for f in group])
    return Job(COMPLETE, target.key, files[0], settings, tuple(files[1:]), mask, target.face, digest, found, people)


def _digest(task: str, settings: Settings, face: int | None, files: list[File]) -> str:
    from unmask import __version__

    digest = hashlib.sha256()
    scan_settings = settings.thumb_size  # a scan uses no method
    digest.update(json.dumps([__version__, task, face, settings.to_json() if task == COMPLETE else scan_settings]).encode())
    for file in files:
        digest.update(len(file.data).to_bytes(8, "little"))
        digest.update(file.data)
    return digest.hexdigest()
