"""A before/after panel: the named step images of a completion side by side, each with its label."""

from __future__ import annotations

import cv2
import numpy as np

TILE = 256  # tile side in the panel, pixels
_LABEL = 28  # label strip height above each tile
_GAP = 6
_PER_ROW = 6


def make_panel(
    steps: dict[str, np.ndarray] | list[tuple[str, np.ndarray]], tile: int = TILE, per_row: int = _PER_ROW
) -> np.ndarray:
    """One uint8 RGB image (H, W, 3): every step (name -> uint8 (h, w, 3) or (h, w); a list of
    (label, image) pairs when labels repeat) scaled to `tile` px high, labelled, laid out in rows of
    at most `per_row`, on white."""
    if not steps:
        raise ValueError("no step images to show")
    pairs = steps.items() if isinstance(steps, dict) else steps
    tiles = [_labelled(name, fit_tile(image, tile)) for name, image in pairs]
    rows = [tiles[i : i + per_row] for i in range(0, len(tiles), per_row)]
    width = max(sum(t.shape[1] for t in row) + _GAP * (len(row) + 1) for row in rows)
    height = sum(max(t.shape[0] for t in row) for row in rows) + _GAP * (len(rows) + 1)
    panel = np.full((height, width, 3), 255, np.uint8)
    y = _GAP
    for row in rows:
        x = _GAP
        for t in row:
            panel[y : y + t.shape[0], x : x + t.shape[1]] = t
            x += t.shape[1] + _GAP
        y += max(t.shape[0] for t in row) + _GAP
    return panel


def fit_tile(image: np.ndarray, tile: int) -> np.ndarray:
    """Scale to `tile` px high (area filter when shrinking), gray -> RGB."""
    image = np.asarray(image)
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    h, w = image.shape[:2]
    width = max(1, round(w * tile / h))
    interpolation = cv2.INTER_AREA if h > tile else cv2.INTER_CUBIC
    return cv2.resize(np.ascontiguousarray(image[:, :, :3]), (width, tile), interpolation=interpolation)


def _labelled(name: str, image: np.ndarray) -> np.ndarray:
    """`image` with a white strip above it holding `name`, centred (shrunk to fit the width)."""
    out = np.full((_LABEL + image.shape[0], image.shape[1], 3), 255, np.uint8)
    out[_LABEL:] = image
    font, thickness = cv2.FONT_HERSHEY_SIMPLEX, 1
    scale = 0.55
    (text_w, text_h), _ = cv2.getTextSize(name, font, scale, thickness)
    if text_w > image.shape[1] - 8:
        scale *= (image.shape[1] - 8) / text_w
        (text_w, text_h), _ = cv2.getTextSize(name, font, scale, thickness)
    origin = ((image.shape[1] - text_w) // 2, (_LABEL + text_h) // 2)
    cv2.putText(out, name, origin, font, scale, (30, 30, 30), thickness, cv2.LINE_AA)
    return out
