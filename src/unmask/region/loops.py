"""Ear loops and straps: thin lines and thin pieces beside the face that start at the mask
region. Lines are pixels darker or lighter than their surroundings and salient against them (a
loop stands alone, hair is a field of lines); a loop piece is long and small, or closes a ring
with the region round an ear. Sizes are in units of the inter-ocular distance d of
`unmask.region.frame`."""

from __future__ import annotations

import cv2
import numpy as np

from unmask.region.frame import FaceFrame
from unmask.region.morphology import attached, disc, fill_holes, grow, opened
from unmask.skeleton import skeletonize

_THIN = 0.05
"""Fabric pieces thinner than twice this (units of d: an opening removes them) may be straps;
the radius the region is smoothed with."""
_STRAP_X = 0.6
"""Straps and ear loops are searched beside the face, beyond this |x| (units of d)."""

_STRAP_LENGTH = 0.3
_STRAP_WIDTH = 0.08
"""A strap piece is at least this long and on average at most this wide (units of d)."""
_LINE_WIDTH = 0.06
"""Lines (ear loops, straps) up to about twice this wide (units of d) are looked for."""
_LINE_CONTRAST = 60.0
"""Least contrast (RGB distance, 0..441) of a line pixel against the closing/opening."""
_LINE_SURROUND = 0.15
_LINE_SALIENCE = 3.0
"""A dark (light) line pixel's contrast is at least this many times the mean dark (light)
contrast in the square of half-side `_LINE_SURROUND` d around it: a loop stands alone, hair is
a field of lines. Dark and light apart, so that a black loop over dark hair is not hidden by
the hair's highlights (measured on template cases of seeds 5 and 9, dark and light together:
1.5 adds hair, 3 misses loops, 2 kept; apart: 2 and 2.5 add strands of hair, extra median +10
and +5 points, 3 takes 1.13 % instead of 2.18 % of a black loop over black hair)."""
_LOOP_LENGTH = 0.5
_LOOP_AREA = 0.4
"""A loop's skeleton is at least `_LOOP_LENGTH` d long and its area at most `_LOOP_AREA` d
squared (a pair of loops; 0.2 and 0.4 measured alike)."""
_LINE_GAP = 0.1
"""A loop starts at most this far (units of d) from the region."""
_WEAK_SALIENCE = 1.5
_CLOSED_HOLE = 0.03
"""Weaker lines (salience `_WEAK_SALIENCE` instead of `_LINE_SALIENCE`) are loops when a piece
of them, at most `_LOOP_AREA` d squared, closes a ring with the region (bridging gaps of
`_LINE_GAP` d) round at least `_CLOSED_HOLE` d squared: an ear loop starts and ends at the
mask, a strand of hair or a collar line seldom does (measured on template cases of seeds 5, 9,
2, 7: salience 2 and 1.5 alike, 1.5 takes more of the drawn-white loops; the same at twice the
line radius also took ears' outlines beside surgical masks, extra +12 points on 3 of 82)."""
_THIN_HOLE = 0.05
"""Parts of the region's holes thinner than twice this (units of d: an opening removes them)
are filled: the inside of a loop drawn as a double line (0.08 took more skin, no more loop)."""

_LOOP_REACH = 0.4
"""Loops may reach this far (units of d) beyond the probable background (the jaw grown by
`_WIDE`): large masks' loops run round the ears."""
_LOOP_STEPS = 3
"""Loop pieces are followed this many gaps of `_LINE_GAP` away from the region."""

_SIDE_PIECE = 0.25
"""Largest area (units of d squared) of a piece of the cut beside the face that is kept when it
touches the mask: a loop with the ear inside it, not a shoulder or a head of hair."""


def with_loops(keep: np.ndarray, segment: np.ndarray, fabric: np.ndarray, lines: np.ndarray, weak: np.ndarray,
               probable: np.ndarray, zone: np.ndarray, frame: FaceFrame) -> np.ndarray:
    """The region `keep` (bool (h, w), smoothed, holes filled) with what it left beside the face
    (|x| > `_STRAP_X`): strap-shaped thin pieces of the fabric or the cut (`fabric`, `segment`)
    that start at it; pieces of thin `lines` that start at it, followed piece by piece (ear
    loops); pieces of `weak` lines that close a ring with it (ear loops round an ear); the thin
    parts of the holes this leaves; and small pieces of the cut attached to it (a loop with the
    ear inside). Loops reach at most `_LOOP_REACH` d beyond the `probable` mask (bool (h, w)) and
    only into `zone` (bool (h, w): where the face has no mask above the ears)."""
    coords = frame.grid(keep.shape)
    beside = np.abs(coords[..., 0]) > _STRAP_X
    candidates = (fabric | segment) & probable & beside & ~keep
    thin = candidates & ~opened(candidates, frame.d * _THIN)
    keep = keep.copy()
    for piece in attached(thin, keep):
        if _strap_shaped(piece, frame.d):
            keep |= piece
    # a loop broken by a crossing (hair, ear) is followed piece by piece
    reach = grow(probable, frame.d * _LOOP_REACH) & beside & zone
    pieces = lines & reach & ~keep
    for _ in range(_LOOP_STEPS):
        loops = [piece for piece in attached(pieces, grow(keep, frame.d * _LINE_GAP)) if _loop_shaped(piece, frame.d)]
        for piece in loops:
            keep |= piece
            pieces &= ~piece
        if not loops:
            break
    # closed loops: weaker line pieces that close a ring with the region round an ear
    body = fill_holes(keep)
    for piece in attached(weak & reach & ~keep, grow(keep, frame.d * _LINE_GAP)):
        if piece.sum() <= _LOOP_AREA * frame.d**2 and _encloses(body, piece, frame.d):
            keep |= piece
    # what lies between a loop's two outlines (a tube drawn as a double line) or between a loop
    # and the mask's side: the thin parts of the holes
    holes = fill_holes(keep) & ~keep
    keep |= holes & ~opened(holes, frame.d * _THIN_HOLE)
    for piece in attached(segment & beside & ~keep, keep):
        if piece.sum() <= _SIDE_PIECE * frame.d**2:
            keep |= piece
    return keep


def _strap_shaped(piece: np.ndarray, d: float) -> bool:
    """Whether a piece (bool (h, w)) is at least `_STRAP_LENGTH` d long and on average at most
    `_STRAP_WIDTH` d wide."""
    ys, xs = np.nonzero(piece)
    spread = np.linalg.eigvalsh(np.cov(np.stack([xs, ys]).astype(np.float64))) if len(xs) > 2 else [0.0]
    length = 4 * np.sqrt(max(spread[-1], 0.0))  # 4 std along the main axis: about its length
    return length >= _STRAP_LENGTH * d and len(xs) / max(length, 1.0) <= _STRAP_WIDTH * d


def line_maps(image: np.ndarray, frame: FaceFrame) -> tuple[np.ndarray, np.ndarray]:
    """Pixels of thin lines darker or lighter than their surroundings (ear loops, straps,
    printed outlines), from a uint8 RGB image (h, w, 3). Returns (lines, weak), bool (h, w)
    each: the colour distance to the morphological closing (dark lines) or opening (light
    lines) at a radius of `_LINE_WIDTH` d is at least `_LINE_CONTRAST` and `_LINE_SALIENCE`
    (`lines`) or `_WEAK_SALIENCE` (`weak`) times the mean of that contrast (dark or light) around
    the pixel."""
    pixels = image.astype(np.float32)
    kernel = disc(frame.d * _LINE_WIDTH)
    dark = cv2.morphologyEx(pixels, cv2.MORPH_CLOSE, kernel) - pixels
    light = pixels - cv2.morphologyEx(pixels, cv2.MORPH_OPEN, kernel)
    side = 2 * round(frame.d * _LINE_SURROUND) + 1
    lines = np.zeros(image.shape[:2], bool)
    weak = np.zeros(image.shape[:2], bool)
    for difference in (dark, light):
        contrast = np.linalg.norm(difference, axis=2)
        surround = cv2.blur(contrast, (side, side))
        lines |= (contrast >= _LINE_CONTRAST) & (contrast >= _LINE_SALIENCE * surround)
        weak |= (contrast >= _LINE_CONTRAST) & (contrast >= _WEAK_SALIENCE * surround)
    return lines, weak


def _encloses(body: np.ndarray, piece: np.ndarray, d: float) -> bool:
    """Whether a piece of line pixels (bool (h, w)), bridged over gaps of `_LINE_GAP` d, closes
    a ring with the region `body` (bool (h, w), holes filled) round at least `_CLOSED_HOLE` d
    squared that neither encloses alone: an ear loop starts and ends at the mask."""
    bridged = grow(piece, d * _LINE_GAP)
    hole = fill_holes(body | bridged) & ~body & ~bridged
    return hole.sum() >= _CLOSED_HOLE * d**2


def _loop_shaped(piece: np.ndarray, d: float) -> bool:
    """Whether a piece of line pixels (bool (h, w)) is long enough for an ear loop (a skeleton of
    at least `_LOOP_LENGTH` d) but no larger than a pair of loops (`_LOOP_AREA` d squared; hair
    beside the face makes larger networks of lines)."""
    area = piece.sum()
    return area <= _LOOP_AREA * d**2 and skeletonize(piece).sum() >= _LOOP_LENGTH * d
