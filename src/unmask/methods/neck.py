"""Below the jaw: where the neck ends and the clothing begins, and how each side is filled.

Under the chin the warped reference shows its own neck and then its own collar, which need not be
the target's. Marking pixel by pixel what is not skin cut the shaded neck under the chin out and
left a ragged seam with Telea's streaks across it; here the seam is one smooth line
(`unmask.methods.warp.neck_layout` puts the pieces together):

1. Every pixel below the jaw is skin or not (`neck_skin`: a CIELAB colour near the face's skin
   patches, whatever its lightness: the neck under the chin is often in deep shadow). Inside the
   region the warped reference is tested, outside it the target.
2. Each column gets the one split row that best separates skin above from the rest below
   (`collar_line`: thin shadows and specks do not move it). Where the target shows its neck just
   under the region (`open_below` false), the neck goes on to the region's bottom; a run of
   columns where it shows clothing there, between two that show the neck, gets the straight line
   between the two places where the target's visible neck ends (`bridge_open_runs`,
   `seen_collar`): the collar edge continues the one seen at the region's sides. The line is
   smoothed across the columns (`smooth_line`).
3. Under the line, and under the neck only, the region is clothing: a smooth (harmonic) fill
   from the target's own clothing around it (`fill_clothing`), never from its skin. Above it the
   reference's neck is cloned; where the reference's own collar starts higher, its neck skin is
   carried over the collar (`cover_foreign`), at most `MAX_COVER` of the crop side.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask.blend import grow_region, harmonic_fill, typical_pixels

NECK_SKIN_FLOOR = (100.0, 10.0, 10.0)
"""CIELAB (L, a*, b*) distance from the face's skin patches within which a pixel below the jaw
counts as skin: any lightness (the neck under the chin may be in deep shadow), a colour within
10 a*, b* levels (or 3 robust deviations) of the face's."""
_SMOOTH = 1 / 16  # the collar line is smoothed over this fraction of the crop side
_EDGE = 1 / 200  # a mask's or collar's soft edge: this fraction of the crop side
_FILL_SIDE = 256  # the smooth fills are solved at about this many pixels a side
MAX_COVER = 1 / 16
"""The target's neck edge goes at most this fraction of the crop side below the reference's own:
further down a flat cover over the reference's collar shows, and the target's collar more likely
rises at the sides (a shirt collar) than the seen line says."""
SEEN_WEIGHT = 4.0
"""What the target shows outside the region counts this many times what the warped reference
shows inside it when the collar line is placed: one is seen, the other a guess."""


@dataclass
class NeckLayout:
    """Below the chin of an aligned crop, all bool (S, S): `below` the target's neck (its collar,
    clothing: filled from its own surroundings); in the neck zone above that, `cover` where the
    warped reference shows its own collar under its neck (covered by its neck skin) and `foreign`
    its non-skin where it shows no neck under the jaw (hair, background: filled from the target's
    surroundings); and which pixels show skin in the target and the reference."""

    below: np.ndarray
    cover: np.ndarray
    foreign: np.ndarray
    target_skin: np.ndarray
    reference_skin: np.ndarray


def neck_skin(image: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """Bool (S, S): the pixels of `image` (uint8 (S, S, 3)) whose colour is typical of its `skin`
    pixels (bool (S, S), e.g. `unmask.face.skin.skin_patches`) within `NECK_SKIN_FLOOR`
    (`blend.typical_pixels`). Decided at about 256 px a side (the averaging blurs noise and
    texture away, and the CIELAB conversion costs a quarter at 512) and scaled back up."""
    height, width = skin.shape
    factor = max(1, height // 256)
    size = (width // factor, height // factor)
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    sample = cv2.resize(skin.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    typical = typical_pixels(small, sample, NECK_SKIN_FLOOR).astype(np.uint8)
    return cv2.resize(typical, (width, height), interpolation=cv2.INTER_NEAREST).astype(bool)


def collar_line(skin: np.ndarray, weight: np.ndarray, top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """Int (W,): per column, the first row of what lies below the neck. `skin` (H, W) bool says
    which pixels show skin, `weight` (H, W) float how much each pixel counts; `top` and `bottom`
    (W,) int are the first row below the jaw and the row after the last one considered in each
    column. Each column's split row minimises the weight of the skin pixels below it (down to
    `bottom`) plus that of the other pixels in the `_SMOOTH` x H rows above it (from `top`): the
    neck must reach down to the line, whatever lies beside the jaw higher up; a column all skin
    gets `bottom`."""
    window = max(3, int(round(_SMOOTH * skin.shape[0])) | 1)
    first, last = int(top.min()), int(bottom.max())  # only the rows between jaw and bottom count
    skin, weight = skin[first:last], weight[first:last]
    height, width = skin.shape
    rows = np.arange(height)[:, None]
    band = ((rows >= top[None, :] - first) & (rows < bottom[None, :] - first)) * weight.astype(np.float32)
    zero = np.zeros((1, width), np.float32)
    other = np.vstack([zero, np.cumsum(band * ~skin, axis=0)])
    skin_above = np.vstack([zero, np.cumsum(band * skin, axis=0)])
    splits = np.arange(height + 1)[:, None] + first
    # split at row r: [r - window, r) must be neck, [r, bottom) must not be
    cost = other - other[np.maximum(splits[:, 0] - first - window, 0)] + (skin_above[-1] - skin_above)
    cost[(splits < top[None, :]) | (splits > bottom[None, :])] = np.inf
    return np.argmin(cost, axis=0) + first


def _sliding(values: np.ndarray, window: int, reduce) -> np.ndarray:
    """`reduce` (np.median, np.mean) of each odd `window` of the 1-D `values` centred on every
    entry, the ends repeated (scipy.ndimage's mode "nearest"; numpy here, as scipy.ndimage costs
    0.06 s to import)."""
    half = window // 2
    padded = np.pad(values, half, mode="edge")
    return reduce(np.lib.stride_tricks.sliding_window_view(padded, window), axis=1)


def smooth_line(line: np.ndarray, top: np.ndarray, size: int) -> np.ndarray:
    """Int (W,): the rows `line` (W,) smoothed across the columns (median, then mean, over
    `_SMOOTH` x `size` columns, the crop's side), never above `top` (W,)."""
    window = max(3, int(round(_SMOOTH * size)) | 1)
    line = _sliding(_sliding(line.astype(np.float64), window, np.median), window, np.mean)
    return np.round(np.maximum(line, top)).astype(np.int64)


def bridge_open_runs(line: np.ndarray, open_: np.ndarray, collar: np.ndarray, neck: np.ndarray) -> np.ndarray:
    """Float (W,): `line` (W,) with each run of `open_` columns (bool (W,)) between two closed
    `neck` columns (bool (W,): under the neck, not beside it, and with region pixels) replaced by the straight line between
    the target's collar rows seen in those two columns (`collar` (W,), `seen_collar`): the collar
    edge leaves the visible part there and continues between them, whatever neckline the
    reference wears."""
    out = line.astype(np.float64)
    edges = np.diff(np.r_[0, open_.astype(np.int8), 0])
    for start, stop in zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]):
        if start > 0 and stop < len(line) and neck[start - 1] and neck[stop]:
            out[start:stop] = np.interp(np.arange(start, stop), [start - 1, stop], [collar[start - 1], collar[stop]])
    return out


def seen_collar(region: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """Int (W,): per column, the first row under the `region` (bool (S, W)), beyond its soft edge,
    where the target shows no `skin` (bool (S, W)): where its visible neck ends; S when it shows
    skin down to the image's bottom."""
    size = region.shape[0]
    rows = np.arange(size)[:, None]
    last = size - 1 - np.argmax(region[::-1], axis=0)
    under = (rows >= last + max(2, int(round(_EDGE * size))) + 1) & ~skin
    return np.where(under.any(axis=0), np.argmax(under, axis=0), size)


def open_below(region: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """Bool (W,): the columns where the target shows mostly no skin in the `_SMOOTH` x S rows
    under the `region` (bool (S, W)), beyond its soft edge (`_EDGE` x S pixels): its collar,
    clothing or background; also columns whose region reaches the image's bottom. `skin` (S, W)
    bool marks the target's skin. Where the target shows its neck under the region, the neck goes
    on inside it: no clothing in that column."""
    size = region.shape[0]
    rows = np.arange(size)[:, None]
    last = size - 1 - np.argmax(region[::-1], axis=0)  # the region's lowest row in each column
    start = last + max(2, int(round(_EDGE * size))) + 1
    under = (rows >= start) & (rows < start + max(3, int(round(_SMOOTH * size))))
    count = under.sum(axis=0)
    seen_skin = (under & skin).sum(axis=0) * 2 > count
    return region.any(axis=0) & ~((count > 0) & seen_skin)


def fill_clothing(image: np.ndarray, below: np.ndarray, region: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """`image` (uint8 (S, S, 3)) with the part of `region` below the neck (`below`, bool (S, S):
    the pixels under the collar line) replaced by the harmonic interpolation of the target's
    pixels under the line around it that are not `skin` (bool (S, S)): its collar, clothing and
    background, never its neck. The known pixels lie `_EDGE` x S pixels away from the region (a
    mask's soft edge or shadow lies closer). Unchanged when fewer than 16 pixels are known."""
    clothing = below & region
    if not clothing.any():
        return image
    hole = grow_region(clothing, max(2, int(round(_EDGE * image.shape[0])))) & below & (region | ~skin)
    known = grow_region(hole, 1) & ~hole & below & ~region & ~skin
    if known.sum() < 16:
        return image
    return np.where(clothing[:, :, None], harmonic_fill(image, hole, known, _FILL_SIDE), image)


def cover_foreign(warped: np.ndarray, foreign: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """`warped` (uint8 (S, S, 3)) with its `foreign` pixels (bool (S, S): its collar where the
    target's neck goes on) replaced by the harmonic interpolation of its `skin` pixels (bool
    (S, S)) around them, `_EDGE` x S pixels away (the collar's soft edge lies closer): its own
    neck, in its own tone and shading, continued over its collar. Unchanged when fewer than 16
    skin pixels border them."""
    if not foreign.any():
        return warped
    hole = grow_region(foreign, max(2, int(round(_EDGE * warped.shape[0]))))
    known = grow_region(hole, 1) & ~hole & skin
    if known.sum() < 16:
        return warped
    return harmonic_fill(warped, hole, known, _FILL_SIDE)
