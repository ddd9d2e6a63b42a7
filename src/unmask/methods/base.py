"""The completion-method interface: every method fills the face-mask region of an aligned face.

All images here are aligned crops (FFHQ alignment, `S x S`), uint8 RGB (S, S, 3); masks are bool
(S, S) with True = hidden by the face mask; landmarks are float (68, 2) (x, y) in crop pixels.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import numpy as np

Progress = Callable[[str], None]
"""Receives short messages about a method's stages ("projecting target", ...)."""


@dataclass
class AlignedCase:
    """One completion job, with every face aligned to the same crop size S."""

    target: np.ndarray  # (S, S, 3) uint8, the masked face
    region: np.ndarray  # (S, S) bool, True where the face mask hides the face
    target_landmarks: np.ndarray  # (68, 2); points under the mask are estimates
    reference: np.ndarray  # (S, S, 3) uint8, the same person without a mask
    reference_landmarks: np.ndarray  # (68, 2)
    expression: np.ndarray | None = None  # (S, S, 3) uint8, a face whose expression to use
    expression_landmarks: np.ndarray | None = None  # (68, 2)
    seed: int = 0

    def __post_init__(self) -> None:
        size = self.target.shape[0]
        assert self.target.shape == (size, size, 3) and self.target.dtype == np.uint8, self.target.shape
        assert self.region.shape == (size, size) and self.region.dtype == bool, self.region.shape
        assert self.reference.shape == (size, size, 3), self.reference.shape
        assert self.target_landmarks.shape == (68, 2) and self.reference_landmarks.shape == (68, 2)

    @property
    def size(self) -> int:
        return self.target.shape[0]


@dataclass
class Completion:
    """A method's answer, still in aligned coordinates."""

    image: np.ndarray  # (S, S, 3) uint8; equal to the case's target wherever `changed` is False
    changed: np.ndarray  # (S, S) bool: the pixels the method replaced (the region, maybe grown)
    steps: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (h, w, 3) uint8, for the panel
    info: dict[str, Any] = field(default_factory=dict)  # JSON-able record of what was done


class Method(ABC):
    """A completion method. Subclasses set `name` and implement `complete`."""

    name: ClassVar[str]
    size: int = 512  # aligned crop side the method works at (stylegan: the generator's resolution)
    # True: works on any framing, so the pipeline may widen the crop beyond FFHQ's (keeping the face
    # resolution) until it holds the whole mask region; False: needs FFHQ framing exactly (stylegan)
    wide_crop: ClassVar[bool] = False
    # how many of the best-ranked references the pipeline completes the face with by default, keeping
    # the result most like the person (`unmask.references.closest_result`): 1 for a slow method or
    # one that does not copy the reference
    tries: ClassVar[int] = 1

    @abstractmethod
    def complete(self, case: AlignedCase, progress: Progress | None = None) -> Completion:
        """Fill `case.region` of `case.target`; see `Completion`."""
