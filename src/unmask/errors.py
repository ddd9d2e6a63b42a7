"""The one exception type a user sees: a clear message naming the file and the problem."""

from __future__ import annotations

from pathlib import Path


class UnmaskError(Exception):
    """An error caused by the user's input (a file, an option), reported without a traceback.

    `path` names the file at fault when there is one; the message always says what is wrong.
    """

    def __init__(self, message: str, path: str | Path | None = None):
        self.path = None if path is None else Path(path)
        super().__init__(f"{self.path}: {message}" if self.path is not None else message)


class ImageError(UnmaskError):
    """A photo could not be read or written."""


class FaceError(UnmaskError):
    """No usable face: none found, too small, or an index that does not exist."""


class CheckpointError(UnmaskError):
    """A weights file is of an unknown or unsafe kind, or does not hold a generator."""
