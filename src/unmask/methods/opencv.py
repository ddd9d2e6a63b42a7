"""Baseline completion: OpenCV inpainting (Telea's fast marching, Navier-Stokes), no reference used.

The region is grown by `grow` pixels first (default 1.6 % of the crop side, 4 px at 256, 8 px at
512), so the fabric's anti-aliased or shaded edge just outside a found region is replaced too;
inpainting then propagates the colours around the grown region inwards. It knows nothing of faces:
a nose or mouth is never drawn, the region becomes a smooth skin-coloured patch. Every other method
must beat it.
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from unmask.blend import GROW, grow_region
from unmask.methods.base import AlignedCase, Completion, Method, Progress

RADIUS = 0.01
"""Inpainting neighbourhood radius as a fraction of the crop side (at least 3 px)."""


class _InpaintMethod(Method):
    """OpenCV inpainting of the grown region; subclasses choose the algorithm (`flag`).

    Options: `size` aligned crop side (default 512); `grow` pixels added around the region
    (default 1.6 % of the crop side); `radius` inpainting neighbourhood in pixels (default 1 %).
    """

    flag: int
    wide_crop = True  # works on any framing

    def __init__(self, size: int = 512, grow: int | None = None, radius: int | None = None):
        if grow is not None and grow < 0:
            raise ValueError(f"grow must be >= 0 pixels, got {grow}")
        if radius is not None and radius < 1:
            raise ValueError(f"radius must be >= 1 pixel, got {radius}")
        self.size = int(size)
        self.grow = grow
        self.radius = radius

    def complete(self, case: AlignedCase, progress: Progress | None = None) -> Completion:
        """Inpaint `case.region` grown by `grow` pixels; the reference is not used."""
        say = progress or (lambda message: None)
        start = time.perf_counter()
        grow = round(GROW * case.size) if self.grow is None else self.grow
        radius = max(3, round(RADIUS * case.size)) if self.radius is None else self.radius
        changed = grow_region(case.region, grow)
        say(f"inpainting {int(changed.sum())} pixels ({self.name})")
        image = cv2.inpaint(case.target, changed.astype(np.uint8), radius, self.flag)
        return Completion(
            image=image,
            changed=changed,
            steps={"inpainted area": np.repeat(changed[:, :, None], 3, axis=2).astype(np.uint8) * 255,
                   "inpainted": image},
            info={"grow_px": grow, "radius_px": radius, "seconds": round(time.perf_counter() - start, 3)},
        )


class TeleaMethod(_InpaintMethod):
    """Telea's fast-marching inpainting (cv2.INPAINT_TELEA)."""

    name = "opencv-telea"
    flag = cv2.INPAINT_TELEA


class NavierStokesMethod(_InpaintMethod):
    """Bertalmio et al.'s Navier-Stokes inpainting (cv2.INPAINT_NS)."""

    name = "opencv-ns"
    flag = cv2.INPAINT_NS

