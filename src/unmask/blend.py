"""Poisson compositing in the aligned crop, and the paste back into the original photo.

`poisson_composite` is seamless cloning (Poisson image editing, guided interpolation): inside a
slightly grown region the result keeps the source's gradients while its border values are the
target's, so colour and illumination steps at the edge spread smoothly over the region. Only
pixels where target and source both show typical skin (`agreeing_pixels`: CIELAB within a few
robust deviations of the visible skin around the region) set colours: the source's mean colour
and brightness contrast are matched to the target on those pixels of a ring just outside the
region, and only those border pixels are boundary values of the Poisson equation. Where the
region's border runs over hair, background, clothing or a mask remnant, the border is left free
(zero normal derivative), so none of their colour spreads into the fill. The source's fine detail
is scaled to the target's grain on the same skin (`match_grain`: a blurrier reference is
sharpened, a noisier one softened). Afterwards a feathered edge hides any remaining gradient
step. The solver is our own sparse one (not `cv2.seamlessClone`): it is exact, leaves every
pixel outside the grown region bit-identical to the target, and treats a region that touches the
crop border correctly (no boundary condition there, instead of OpenCV's shifted or clipped
result).
"""

from __future__ import annotations

import cv2
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from unmask.metrics import TEXTURE_SIGMA

# Grow, feather and ring widths as fractions of the crop side (a 512 crop: 8, 8 and 20 px).
GROW = 0.016
FEATHER = 0.016
RING = 0.04
GRAIN_LIMIT = 4.0  # the most the fine detail is scaled up or down (`match_grain`; scripts/fit_grain_limit.py)
_GAIN_LIMITS = (0.75, 1.33)  # a contrast match beyond this is more likely a bad ring than light
_BORDER_SPREAD = 2.5  # border differences beyond this many robust deviations are left free
_BORDER_FLOOR = 12.0  # ... but never closer than this many levels to their median
_TYPICAL_SPREAD = 3.0  # a colour this many robust deviations from the skin's median is something else
# ... but skin within (15, 6, 6) CIELAB (L, a, b) of it always counts (`typical_pixels`), and
_SKIN_FLOOR = (30.0, 10.0, 10.0)  # of the forehead's and nose bridge's skin, through the face's shading
_MIN_SAMPLE = 16  # pixels: fewer are not a colour sample
_DIRECT_LIMIT = 25_000  # unknowns solved directly (about 0.2 s); larger regions go coarse-to-fine
_RELAX_STEPS = 30  # full-resolution sweeps after the coarse solve (error < 1 level on real crops)


def grow_region(region: np.ndarray, pixels: int) -> np.ndarray:
    """Dilate a bool mask (H, W) by `pixels` (Euclidean distance; a distance transform, whose cost
    does not grow with `pixels` as a dilation's does, on the region's box only)."""
    if pixels <= 0 or not region.any():
        return region.copy()
    # only the region's box grown by `pixels` can change: its distances are the whole mask's
    box = _box(region, pixels + 1)
    grown = np.zeros_like(region)
    distance = cv2.distanceTransform((~region[box]).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    grown[box] = distance <= pixels
    return grown


def composite_region(region: np.ndarray, grow: int | None = None) -> np.ndarray:
    """The pixels `poisson_composite` may change for this region: the region grown by `grow`
    (default `GROW` x crop side). Bool (H, W)."""
    return grow_region(region, _default(grow, GROW, region.shape[0]))


def poisson_composite(
    target: np.ndarray,
    source: np.ndarray,
    region: np.ndarray,
    grow: int | None = None,
    feather: int | None = None,
    match_colour: bool = True,
    anchor: np.ndarray | None = None,
    skin: np.ndarray | None = None,
) -> np.ndarray:
    """Seamlessly clone `source` into `target` over `region`; returns uint8 (H, W, 3).

    `target`, `source`: uint8 RGB (H, W, 3), the same geometry (the source already warped or
    generated in the target's crop). `region`: bool (H, W), True = to be replaced. The region is
    grown by `grow` pixels, the source's colours and grain are matched to the target's on a ring
    outside it (`match_colours`, `match_grain`), the Poisson equation is solved with the target as
    boundary, and the outer `feather` pixels of the grown region fade back to the target. Pixels
    outside `composite_region(region, grow)` are bit-identical to `target`. `anchor` (bool (H, W),
    default everywhere) marks the target pixels that may show the same thing as the source (e.g.
    the face, not the background); of those,
    only the ones where both images show typical skin colours (`agreeing_pixels`) set the colours
    and are boundary values; the rest of the border is free (zero normal derivative). `skin` (bool
    (H, W), e.g. `unmask.face.skin.skin_patches`) marks pixels that surely show the face's skin in
    both images: border pixels must also look like it, and when too few do (a region bordered
    only by mask, glasses, hair or clothing), the colours are matched on `skin` instead.
    """
    if target.shape != source.shape or target.ndim != 3 or target.shape[2] != 3:
        raise ValueError(f"target {target.shape} and source {source.shape} must both be (H, W, 3)")
    if region.shape != target.shape[:2]:
        raise ValueError(f"region {region.shape} does not match the image {target.shape[:2]}")
    side = target.shape[0]
    grown = composite_region(region, grow)
    if not grown.any():
        return target.copy()
    ring = _default(None, RING, side)
    # everything below happens in the grown region's bounding box plus the colour ring: the
    # box's sides are either far from the region or the image's own border (no condition there)
    box = _box(grown, ring + 2)
    grown = grown[box]
    tgt = target[box].astype(np.float64)
    src = source[box].astype(np.float64)
    around = grow_region(grown, ring) & ~grown  # the colour ring
    trusted = np.ones(grown.shape, bool) if anchor is None else anchor[box]
    trusted = trusted & agreeing_pixels(tgt, src, around & trusted)
    if skin is not None and skin.sum() < _MIN_SAMPLE:
        skin = None
    if skin is not None:  # the skin patches may lie outside the box
        trusted &= _typical(_lab(tgt), _lab(target[skin]), _SKIN_FLOOR)
    if match_colour:
        if skin is None or (around & trusted).sum() >= _MIN_SAMPLE:
            src = match_colours(tgt, src, grown, ring, trusted)
        else:  # the region's surroundings are no skin at all: match the colours on the skin patches
            src = colour_transfer(src, target[skin].astype(np.float64), source[skin].astype(np.float64))
    src = match_grain(tgt, src, around & trusted)
    difference = tgt - src
    filled = src + _membrane(difference, grown, _fixed_border(difference, grown, trusted))
    alpha = feather_weights(grown, _default(feather, FEATHER, side))[:, :, None]
    blended = alpha * filled + (1.0 - alpha) * tgt
    out = target.copy()
    out[box][grown] = np.clip(np.round(blended[grown]), 0, 255).astype(np.uint8)
    return out


def harmonic_fill(image: np.ndarray, region: np.ndarray, known: np.ndarray, side: int | None = None) -> np.ndarray:
    """`image` (uint8 (H, W, C)) with `region` (bool (H, W)) replaced by the harmonic (Laplace)
    interpolation of the `known` pixels (bool (H, W), outside the region) on its border; the rest
    of its border is free (zero normal derivative). Smooth, without Telea's streaks. With `side`,
    solved at about `side` px a side and scaled back up (the fill is smooth anyway): any pixel of
    the region taints its small pixel, a small pixel with known pixels takes their mean. uint8 out."""
    if not region.any():
        return image.copy()
    factor = 1 if side is None else max(1, image.shape[0] // side)
    if factor > 1:
        small = (image.shape[1] // factor, image.shape[0] // factor)
        hole = cv2.resize(region.astype(np.float32), small, interpolation=cv2.INTER_AREA) > 0
        share = cv2.resize(known.astype(np.float32), small, interpolation=cv2.INTER_AREA)
        total = cv2.resize(image * known[:, :, None].astype(np.float32), small, interpolation=cv2.INTER_AREA)
        mean = np.clip(np.round(total / np.maximum(share, 1e-6)[:, :, None]), 0, 255).astype(np.uint8)
        values = np.where((share > 0)[:, :, None], mean, cv2.resize(image, small, interpolation=cv2.INTER_AREA))
        filled = harmonic_fill(values, hole, (share > 0) & ~hole)
        up = cv2.resize(filled, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
        return np.where(region[:, :, None], up, image)
    box = _box(region, 2)
    filled = _membrane(image[box].astype(np.float64), region[box], known[box] & ~region[box])
    out = image.copy()
    out[box][region[box]] = np.clip(np.round(filled[region[box]]), 0, 255).astype(np.uint8)
    return out


def _box(mask: np.ndarray, margin: int) -> tuple[slice, slice]:
    """The bounding box of a non-empty bool mask grown by `margin`, clipped to the image."""
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    return (slice(max(ys.min() - margin, 0), min(ys.max() + margin + 1, h)),
            slice(max(xs.min() - margin, 0), min(xs.max() + margin + 1, w)))


def paste_into_photo(
    photo: np.ndarray, crop: np.ndarray, alignment, changed: np.ndarray, feather: int | None = None
) -> np.ndarray:
    """The completed aligned `crop` (S, S, 3) pasted into the full-resolution `photo` (H, W, 3)
    through the inverse of `alignment` (an `unmask.face.Alignment`), only where `changed` (S, S)
    bool is True, with a `feather`-pixel soft edge inside it (default `FEATHER` x S). Photo
    pixels outside the changed region, mapped into the photo, are bit-identical. uint8 out."""
    from unmask.face import Alignment, paste_back

    if not changed.any():
        return photo.copy()
    weights = feather_weights(changed, _default(feather, FEATHER, crop.shape[0]))
    # paste only the smallest square of the crop that holds the changed pixels: in a large photo
    # the whole crop's square covers millions of pixels that would be resampled for nothing
    rows, cols = _box(changed, 2)
    side = max(rows.stop - rows.start, cols.stop - cols.start)
    y0, x0 = min(rows.start, crop.shape[0] - side), min(cols.start, crop.shape[1] - side)
    shift = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]])
    lo, hi = -0.5, side - 0.5
    corners = np.array([[lo, lo], [lo, hi], [hi, hi], [hi, lo]]) + [x0, y0]  # TL, BL, BR, TR
    part = Alignment(matrix=shift @ alignment.matrix, quad=alignment.to_photo(corners), size=side)
    window = (slice(y0, y0 + side), slice(x0, x0 + side))
    return paste_back(photo, np.ascontiguousarray(crop[window]), part, mask=weights[window])


def match_colours(
    target: np.ndarray, source: np.ndarray, region: np.ndarray, ring: int, anchor: np.ndarray | None = None
) -> np.ndarray:
    """`source` with the target's mean colour and brightness contrast on a ring of width `ring`
    around `region` (only its `anchor` pixels, when there are enough; `colour_transfer`).
    Float (H, W, 3) in, float out (not clipped)."""
    band = grow_region(region, ring) & ~region
    if anchor is not None and (band & anchor).sum() >= _MIN_SAMPLE:
        band &= anchor
    if band.sum() < _MIN_SAMPLE:
        return source
    return colour_transfer(source, target[band], source[band])


def colour_transfer(source: np.ndarray, target_sample: np.ndarray, source_sample: np.ndarray) -> np.ndarray:
    """`source` (float (H, W, 3)) moved so that its pixels `source_sample` (N, 3) take the mean
    colour and brightness contrast of the target's `target_sample` (M, 3) of the same part of the
    face: one gain for all three channels (the ratio of the two brightness spreads, so it changes
    contrast, never hue) and a per-channel offset. Float out (not clipped)."""
    t, s = target_sample, source_sample
    gain = np.clip(t.mean(axis=1).std() / max(s.mean(axis=1).std(), 1.0), *_GAIN_LIMITS)
    return (source - s.mean(axis=0)) * gain + t.mean(axis=0)


def match_grain(target: np.ndarray, source: np.ndarray, sample: np.ndarray) -> np.ndarray:
    """`source` (float RGB (H, W, 3)) with its fine detail (`_detail`, added to all three channels
    alike) scaled so that its energy (median square) on the `sample` pixels (bool (H, W), e.g. the
    skin both show around the region) matches the target's (float RGB (H, W, 3)) there: a
    reference photo blurrier than the target is sharpened, a sharper or noisier one softened, by
    at most a factor `GRAIN_LIMIT`. Unchanged when the sample is too small. Float out (not clipped)."""
    if GRAIN_LIMIT <= 1.0 or sample.sum() < _MIN_SAMPLE:
        return source
    detail = _detail(source)
    want, have = np.median(np.square(_detail(target)[sample])), np.median(np.square(detail[sample]))
    gain = np.clip(np.sqrt(want / max(have, 1e-6)), 1.0 / GRAIN_LIMIT, GRAIN_LIMIT)
    return source + (gain - 1.0) * detail[:, :, None]


def _detail(image: np.ndarray) -> np.ndarray:
    """Float (H, W): the fine detail of an RGB image (H, W, 3): its channels' mean minus that mean's
    Gaussian blur of `metrics.TEXTURE_SIGMA` px (the scale `seam_texture` measures sharpness at)."""
    grey = image.mean(axis=2).astype(np.float32)
    return (grey - cv2.GaussianBlur(grey, (0, 0), TEXTURE_SIGMA)).astype(np.float64)


def agreeing_pixels(target: np.ndarray, source: np.ndarray, sample: np.ndarray) -> np.ndarray:
    """Bool (H, W): the pixels where both `target` and `source` (RGB (H, W, 3), 0-255) show a
    colour typical of their own `sample` pixels (bool (H, W), e.g. the visible face skin around the
    region; see `typical_pixels`). Hair, background, clothing or a mask remnant in either image
    fails the test, so only skin against skin sets the fill's colours."""
    return typical_pixels(target, sample) & typical_pixels(source, sample)


def typical_pixels(image: np.ndarray, sample: np.ndarray,
                   floor: tuple[float, float, float] = (15.0, 6.0, 6.0)) -> np.ndarray:
    """Bool (H, W): the pixels of `image` (RGB (H, W, 3), 0-255) whose colour is typical of its
    `sample` pixels (bool (H, W)): every CIELAB channel within `_TYPICAL_SPREAD` robust deviations
    of the sample's median, or within `floor` (L, a, b) of it. All True when the sample is tiny."""
    if sample.sum() < _MIN_SAMPLE:
        return np.ones(sample.shape, bool)
    lab = _lab(image)
    return _typical(lab, lab[sample], floor)


def _typical(lab: np.ndarray, values: np.ndarray, floor: tuple[float, float, float]) -> np.ndarray:
    """Bool (H, W): the CIELAB pixels `lab` (H, W, 3) typical of the CIELAB `values` (N, 3) (see
    `typical_pixels`)."""
    median = np.median(values, axis=0)
    spread = 1.4826 * np.median(np.abs(values - median), axis=0)
    limit = np.maximum(_TYPICAL_SPREAD * spread, floor)
    return np.all(np.abs(lab - median) <= limit, axis=-1)


def _lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB float32 (..., 3) of RGB values (..., 3) in 0-255 (any numeric type)."""
    flat = np.clip(rgb, 0, 255).astype(np.float32).reshape(1, -1, 3) / 255.0
    return cv2.cvtColor(flat, cv2.COLOR_RGB2LAB).reshape(np.shape(rgb))


def _fixed_border(difference: np.ndarray, region: np.ndarray, trusted: np.ndarray) -> np.ndarray:
    """Bool (H, W): the pixels of the 1-px ring around `region` whose `difference` (target minus
    colour-matched source, (H, W, 3)) may be a boundary condition: `trusted` ones whose difference
    is within `_BORDER_SPREAD` robust deviations (at least `_BORDER_FLOOR` levels) of the trusted
    ring's median. The rest of the ring is left free (zero normal derivative): where the border
    runs over hair, background or a mask remnant, it does not set the fill's colour."""
    ring = grow_region(region, 1) & ~region
    fixed = ring & trusted
    if not fixed.any():
        return fixed
    values = difference[fixed]
    median = np.median(values, axis=0)
    limit = np.maximum(_BORDER_SPREAD * 1.4826 * np.median(np.abs(values - median), axis=0), _BORDER_FLOOR)
    return fixed & np.all(np.abs(difference - median) <= limit, axis=2)


def _membrane(difference: np.ndarray, region: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """The harmonic correction h inside `region` (Laplace(h) = 0) equal to `difference` (H, W, C)
    on the `fixed` pixels (bool (H, W), outside the region); zero elsewhere. Every other side of
    the region (free border pixels, the image border) gets a zero normal derivative. A part of the
    region with no fixed pixel on its border gets h = 0.

    Large regions are solved on a grid of half the resolution first (recursively), then refined
    at full resolution by relaxation: a direct sparse solve grows faster than linearly."""
    if region.sum() <= _DIRECT_LIMIT:
        return _membrane_direct(difference, region, fixed)
    h, w = region.shape
    hc, wc = (h + 1) // 2, (w + 1) // 2
    pad = ((0, 2 * hc - h), (0, 2 * wc - w))
    coarse_region = np.pad(region, pad, mode="edge").reshape(hc, 2, wc, 2).any(axis=(1, 3))
    weight = np.pad(fixed, pad).astype(np.float64).reshape(hc, 2, wc, 2)
    diff = np.pad(difference * fixed[:, :, None], (*pad, (0, 0))).reshape(hc, 2, wc, 2, -1)
    count = weight.sum(axis=(1, 3))
    coarse_fixed = (count > 0) & ~coarse_region
    coarse_diff = diff.sum(axis=(1, 3)) / np.maximum(count, 1.0)[:, :, None]
    coarse = _membrane(coarse_diff, coarse_region, coarse_fixed)
    start = cv2.resize(coarse, (2 * wc, 2 * hc), interpolation=cv2.INTER_LINEAR)[:h, :w]
    return _relax(difference, region, fixed, start, _RELAX_STEPS)


def _relax(difference: np.ndarray, region: np.ndarray, fixed: np.ndarray, start: np.ndarray, steps: int) -> np.ndarray:
    """Red-black Gauss-Seidel relaxation of Laplace(h) = 0 on `region`, h = `difference` on the
    `fixed` pixels, zero normal derivative elsewhere, from `start`. Works on the region's bounding box."""
    ys, xs = np.nonzero(region)
    y0, y1 = max(ys.min() - 1, 0), min(ys.max() + 2, region.shape[0])
    x0, x1 = max(xs.min() - 1, 0), min(xs.max() + 2, region.shape[1])
    box, known = region[y0:y1, x0:x1], fixed[y0:y1, x0:x1] & ~region[y0:y1, x0:x1]
    h = np.where(box[:, :, None], start[y0:y1, x0:x1], 0.0)
    h = np.where(known[:, :, None], difference[y0:y1, x0:x1], h).astype(np.float32)
    cross = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], np.float32)
    count = cv2.filter2D((box | known).astype(np.float32), -1, cross, borderType=cv2.BORDER_CONSTANT)
    yy, xx = np.indices(box.shape)
    colours = [np.repeat((box & ((yy + xx) % 2 == parity))[:, :, None], h.shape[2], axis=2) for parity in (0, 1)]
    inverse = np.repeat((1.0 / np.maximum(count, 1.0))[:, :, None], h.shape[2], axis=2)
    total = np.empty_like(h)
    for _ in range(steps):
        for colour in colours:
            cv2.filter2D(h, -1, cross, dst=total, borderType=cv2.BORDER_CONSTANT)
            np.multiply(total, inverse, out=total)
            np.copyto(h, total, where=colour)
    out = np.zeros(difference.shape)
    out[y0:y1, x0:x1] = np.where(box[:, :, None], h, 0.0)
    return out


def _membrane_direct(difference: np.ndarray, region: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """`_membrane` by one sparse LU solve."""
    h, w = region.shape
    ys, xs = np.nonzero(region)
    index = -np.ones((h, w), dtype=np.int64)
    index[ys, xs] = np.arange(len(ys))
    rows, cols, vals = [], [], []
    degree = np.zeros(len(ys))
    rhs = np.zeros((len(ys), difference.shape[2]))
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        ny, nx = ys + dy, xs + dx
        inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
        ny, nx, own = ny[inside], nx[inside], np.nonzero(inside)[0]
        neighbour = index[ny, nx]
        unknown = neighbour >= 0
        known = ~unknown & fixed[ny, nx]
        degree[own[unknown | known]] += 1
        rows.append(own[unknown])
        cols.append(neighbour[unknown])
        vals.append(-np.ones(unknown.sum()))
        np.add.at(rhs, own[known], difference[ny[known], nx[known]])
    n = len(ys)
    # a tiny diagonal term keeps a part of the region with no fixed neighbour solvable (h = 0 there)
    diagonal = sp.diags(degree + 1e-9)
    laplace = (sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
               + diagonal).tocsc()
    solve = spla.factorized(laplace)
    out = np.zeros((h, w, difference.shape[2]))
    for c in range(difference.shape[2]):
        out[ys, xs, c] = solve(rhs[:, c])
    return out


def feather_weights(region: np.ndarray, feather: int) -> np.ndarray:
    """Weights (H, W) float in [0, 1]: 0 outside the bool mask `region`, rising to 1 at `feather`
    px inside its edge. The image border does not count as an edge."""
    padded = np.pad(region, 1, mode="edge").astype(np.uint8)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    if feather <= 0:
        return region.astype(np.float64)
    return np.where(region, np.clip(dist / feather, 0.0, 1.0), 0.0)


def _default(value: int | None, fraction: float, side: int) -> int:
    return int(round(fraction * side)) if value is None else int(value)
