"""Face-mask templates (RGBA pictures of masks with anchor points) put on unmasked photos: the
composites the region network is trained on.

A template folder holds RGBA PNGs and an `anchors.csv` (template, landmark, x, y): the template
pixel that goes on each of a few dlib 68-landmark indices (0-based). A template is placed with
the homography from its anchors to the face's landmarks, optionally moved a little, recoloured
with its folds kept, and alpha-blended; its region is where the blended alpha is at least 0.5.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from unmask.errors import UnmaskError
from unmask.region.frame import face_frame


@dataclass
class MaskTemplate:
    """One template: `rgba` uint8 (h, w, 4), `landmarks` int (K,) dlib indices, `anchors` float
    (K, 2) the template pixels (x, y) that go on them, `name` its file name."""

    name: str
    rgba: np.ndarray
    landmarks: np.ndarray
    anchors: np.ndarray


def load_templates(folder: str | Path) -> list[MaskTemplate]:
    """Every template of `folder` that `folder/anchors.csv` gives at least 4 anchors for, by name."""
    folder = Path(folder)
    table = folder / "anchors.csv"
    if not table.is_file():
        raise UnmaskError(f"{table}: no anchors.csv in the template folder")
    points: dict[str, list[tuple[int, float, float]]] = {}
    with open(table, newline="") as handle:
        for row in csv.DictReader(handle):
            points.setdefault(row["template"], []).append((int(row["landmark"]), float(row["x"]), float(row["y"])))
    templates = []
    for name, rows in sorted(points.items()):
        rgba = cv2.imread(str(folder / name), cv2.IMREAD_UNCHANGED)
        if rgba is None or rgba.ndim != 3 or rgba.shape[2] != 4 or len(rows) < 4:
            raise UnmaskError(f"{folder / name}: not an RGBA template with at least 4 anchors")
        rgba = cv2.cvtColor(rgba, cv2.COLOR_BGRA2RGBA)
        templates.append(MaskTemplate(name, rgba, np.array([r[0] for r in rows]),
                                      np.array([r[1:] for r in rows], np.float64)))
    return templates


def recolour(rgba: np.ndarray, colour: tuple[int, int, int] | np.ndarray) -> np.ndarray:
    """The template in `colour` (RGB 0-255: one colour, or float (h, w, 3) one per pixel, for a
    print) with its shading kept: each pixel's lightness relative to the template's median
    lightness scales the new colour. uint8 (h, w, 4)."""
    rgb = rgba[..., :3].astype(np.float32)
    light = rgb.mean(axis=2)
    opaque = rgba[..., 3] > 127
    relative = light / max(float(np.median(light[opaque])) if opaque.any() else 1.0, 1.0)
    out = rgba.copy()
    out[..., :3] = np.clip(relative[..., None] * np.asarray(colour, np.float32), 0, 255).round().astype(np.uint8)
    return out


def put_template(image: np.ndarray, landmarks: np.ndarray, template: MaskTemplate,
                 shift: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Put `template` on the face with 68 landmarks (68, 2) of `image` (uint8 RGB (H, W, 3)).

    `shift` (K, 2), in units of the inter-ocular distance, moves each anchor's destination (None:
    exactly on the landmarks). Returns (masked uint8 (H, W, 3), region bool (H, W))."""
    destination = landmarks[template.landmarks].astype(np.float64)
    if shift is not None:
        destination = destination + shift * face_frame(landmarks).d
    homography, _ = cv2.findHomography(template.anchors, destination)
    if homography is None:
        raise ValueError(f"{template.name}: its anchors give no homography onto these landmarks")
    height, width = image.shape[:2]
    warped = cv2.warpPerspective(template.rgba, homography, (width, height), flags=cv2.INTER_LINEAR,
                                 borderValue=(0, 0, 0, 0))
    alpha = warped[..., 3:].astype(np.float32) / 255
    masked = (image * (1 - alpha) + warped[..., :3] * alpha).round().astype(np.uint8)
    return masked, alpha[..., 0] >= 0.5
