"""Operations on bool masks (h, w) that the region finder and its loop search share: structuring
discs, connected pieces that touch a body, and hole filling."""

from __future__ import annotations

import cv2
import numpy as np


def disc(radius: float) -> np.ndarray:
    """An elliptic structuring element of the given radius (px, at least 1)."""
    r = max(1, round(radius))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def grow(mask: np.ndarray, radius: float) -> np.ndarray:
    """A bool mask dilated by a disc of `radius` px."""
    return cv2.dilate(mask.astype(np.uint8), disc(radius)).astype(bool)


def opened(mask: np.ndarray, radius: float) -> np.ndarray:
    """A bool mask opened by a disc of `radius` px: without its parts thinner than the disc."""
    return cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, disc(radius)).astype(bool)


def attached(mask: np.ndarray, body: np.ndarray) -> list[np.ndarray]:
    """The connected pieces (8-connected, bool (h, w) each) of `mask` that touch `body`."""
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    touch = cv2.dilate(body.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return [labels == label for label in np.unique(labels[touch & (labels > 0)])]


def touching(mask: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """The connected components (8-connected) of a bool mask that overlap `seed`."""
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    hit = np.unique(labels[seed & mask])
    return np.isin(labels, hit[hit > 0])


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill every hole of a bool mask (pixels not reachable from the border)."""
    padded = np.pad(mask.astype(np.uint8), 1)
    flood = padded.copy()
    cv2.floodFill(flood, None, (0, 0), 1)
    return mask | (flood[1:-1, 1:-1] == 0)
