"""Synthetic face masks with exact ground truth, for evaluation.

`render_mask` draws a procedural face mask (surgical, cloth, N95, KN95, printed, or pulled down
under the nose) onto an unmasked photo from its 68 landmarks and returns the masked photo together
with the exact region it painted. The shape is built from the landmarks (nose bridge, jaw line,
chin), so it follows head pose; fabric texture lives in the mask's own (u, v) surface coordinates
and is shaded by a simple lighting model over a bulging surface, modulated by the photo's own light.
"""

from __future__ import annotations

import cv2
import numpy as np

MASK_KINDS: tuple[str, ...] = ("surgical", "cloth", "n95", "kn95", "printed", "pulled_down")
"""Every kind `render_mask` draws."""
PATTERNS: tuple[str, ...] = ("solid", "stripes", "checks", "dots", "woven", "plaid", "specks", "text")
"""Every pattern `cloth_pattern` draws (cloth masks use the first five; the region network's
training composites all of them)."""
_CLOTH_LOOKS = PATTERNS[:5]

_SURGICAL_COLOURS = {
    "light blue": (150, 196, 226),
    "white": (236, 238, 240),
    "black": (38, 40, 44),
    "pink": (236, 176, 190),
    "green": (150, 205, 185),
}
_RESPIRATOR_COLOURS = {"white": (240, 240, 236), "grey": (178, 180, 182), "off-white": (228, 222, 206)}

_EDGE_SUPERSAMPLE_BITS = 3  # cv2.fillPoly works in fixed point: 2**3 sub-pixel steps per pixel


def render_mask(
    image: np.ndarray,
    landmarks: np.ndarray,
    kind: str,
    rng_or_seed: np.random.Generator | int,
    color: tuple[int, int, int] | None = None,
    apex: float | None = None,
    reach: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Paint a synthetic face mask of `kind` (one of `MASK_KINDS`) on a face.

    image: uint8 RGB (H, W, 3), an unmasked photo; landmarks: float (68, 2) (x, y) photo pixels,
    iBUG 300-W order. `rng_or_seed` makes the colour, pattern and lighting reproducible; `color`
    (RGB 0-255) overrides the base fabric colour; `apex` overrides where the upper edge crosses
    the nose, as a fraction of the way from landmark 28 to 29 (negative: above 28, towards the
    bridge's top 27; None: 0.25 for respirators, 0.45 for the others; ignored for pulled_down).
    `reach` (>= 0, a share of the bridge-to-chin length) moves the lower edge that much farther
    under the chin and half that much farther out beside the jaw: a larger mask.
    Returns `(masked, region)`: masked uint8 (H, W, 3) and region bool (H, W).

    Edges are antialiased inside the region only: coverage alpha >= 0.5 is the region (blended
    with that alpha), alpha < 0.5 is left untouched. So `region` is exactly the set of pixels
    whose colour changed: no pixel outside it differs from `image`, and every pixel inside it does.
    Ear loops are not drawn (they would be thin changed pixels outside any fillable region).
    """
    if kind not in MASK_KINDS:
        raise ValueError(f"unknown mask kind {kind!r}; choose one of {', '.join(MASK_KINDS)}")
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 (H, W, 3) image, got {image.dtype} {image.shape}")
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape != (68, 2):
        raise ValueError(f"expected (68, 2) landmarks, got {points.shape}")
    rng = rng_or_seed if isinstance(rng_or_seed, np.random.Generator) else np.random.default_rng(rng_or_seed)

    top, bottom = _outline(points, kind, apex, reach)
    outline = np.concatenate([top, bottom[::-1][1:-1]])
    height, width = image.shape[:2]
    alpha = coverage(outline, height, width)
    region = alpha >= 0.5
    if not region.any():
        return image.copy(), region

    ys, xs = np.nonzero(region)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    inside = region[y0:y1, x0:x1]
    u, v = _surface_coords(top, bottom, x0, y0, inside)
    face_width = float(np.linalg.norm(points[16] - points[0]))
    albedo = _albedo(kind, u, v, rng, color, face_width)
    shade = _shading(kind, u, v, rng, face_width)
    ambient = _scene_light(image, region, (y0, y1, x0, x1))
    fabric = albedo * (shade * ambient)[..., None]
    fabric += rng.normal(0.0, 2.0, fabric.shape)  # sensor noise, so the fabric is not too clean
    fabric = np.clip(fabric, 0, 255)

    a = alpha[y0:y1, x0:x1][..., None] * inside[..., None]
    crop = image[y0:y1, x0:x1].astype(np.float64)
    blended = np.clip(np.round(a * fabric + (1 - a) * crop), 0, 255).astype(np.uint8)
    original = image[y0:y1, x0:x1]
    # A painted pixel that rounds back to its old colour is nudged by one level, so that
    # "changed" and "region" are the same set (the ground truth is exact).
    same = inside & np.all(blended == original, axis=2)
    blended[same, 0] = np.where(original[same, 0] < 128, original[same, 0] + 1, original[same, 0] - 1)
    masked = image.copy()
    masked[y0:y1, x0:x1] = np.where(inside[..., None], blended, original)
    return masked, region


def _outline(points: np.ndarray, kind: str, apex_at: float | None = None, reach: float = 0.0
             ) -> tuple[np.ndarray, np.ndarray]:
    """The mask's upper and lower edges, both running from its left to its right corner
    (`apex_at`, `reach`: `render_mask`'s `apex` and `reach`).

    Returns two (N, 2) polylines sharing their end points. The lower edge follows the jaw line
    pushed outwards (fabric bulges beyond the jaw) and under the chin; the upper edge crosses the
    nose bridge (or just under the nose for the pulled-down kind) and sags over the cheeks.
    """
    jaw = points[0:17]
    centre = points[27:36].mean(axis=0)
    bridge_to_chin = float(np.linalg.norm(points[8] - points[27]))
    up = points[27] - points[33]
    up /= np.linalg.norm(up) + 1e-9
    pulled = kind == "pulled_down"
    respirator = kind in ("n95", "kn95")

    if pulled:
        apex = points[33] + 0.35 * (points[51] - points[33])
        corner_index = 3.2
    else:
        if apex_at is None:
            apex_at = 0.25 if respirator else 0.45
        apex = points[28] + apex_at * (points[29] - points[28])
        corner_index = 1.35 if respirator else 1.0
    bulge = ((0.05 if respirator else 0.035) + reach / 2) * bridge_to_chin
    chin_drop = ((0.10 if respirator else 0.13) + reach) * bridge_to_chin

    def jaw_at(index: float) -> np.ndarray:
        i = int(np.floor(index))
        t = index - i
        return (1 - t) * jaw[i] + t * jaw[min(i + 1, 16)]

    def pushed(p: np.ndarray, weight: float) -> np.ndarray:
        out = p - centre
        out /= np.linalg.norm(out) + 1e-9
        return p + bulge * out - chin_drop * weight * up

    # lower edge: jaw from the left corner through the chin to the right corner
    indices = np.concatenate([[corner_index], np.arange(np.ceil(corner_index), 16 - corner_index + 1e-9, 1.0)])
    indices = np.unique(np.concatenate([indices, [16 - corner_index]]))
    lower = np.array([pushed(jaw_at(i), w) for i, w in zip(indices, chin_weight(indices))])
    left, right = lower[0], lower[-1]

    # upper edge: corner -> over the cheek -> apex -> over the cheek -> corner, a smooth arc
    sag = 0.06 * bridge_to_chin
    cheek_l = 0.5 * (left + apex) + (0.0 if pulled else sag) * up
    cheek_r = 0.5 * (right + apex) + (0.0 if pulled else sag) * up
    upper = _smooth_curve(np.array([left, cheek_l, apex, cheek_r, right]), 48)
    lower = _smooth_curve(lower, 96)
    return upper, lower


def _smooth_curve(points: np.ndarray, count: int) -> np.ndarray:
    """Catmull-Rom spline through `points` (N, 2), resampled to `count` points by arc length."""
    padded = np.concatenate([2 * points[:1] - points[1:2], points, 2 * points[-1:] - points[-2:-1]])
    dense = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1 : i + 3]
        t = np.linspace(0, 1, 16, endpoint=False)[:, None]
        dense.append(
            0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3)
        )
    dense.append(points[-1:])
    return _resample(np.concatenate(dense), count)


def chin_weight(indices: np.ndarray) -> np.ndarray:
    """How much of a mask's drop under the chin a point of the jaw line takes, for jaw landmark
    indices (N,) (0..16, fractional allowed): 1 at the chin (8), falling to 0 five points away."""
    return np.clip(1 - np.abs(np.asarray(indices, np.float64) - 8) / 5, 0, 1) ** 1.5


def _resample(curve: np.ndarray, count: int) -> np.ndarray:
    """Resample a polyline (N, 2) to `count` points evenly spaced by arc length."""
    steps = np.linalg.norm(np.diff(curve, axis=0), axis=1)
    length = np.concatenate([[0.0], np.cumsum(steps)])
    target = np.linspace(0, length[-1], count)
    return np.stack([np.interp(target, length, curve[:, 0]), np.interp(target, length, curve[:, 1])], axis=1)


def coverage(outline: np.ndarray, height: int, width: int) -> np.ndarray:
    """Antialiased fill of a closed polygon: float (H, W) coverage in [0, 1]."""
    canvas = np.zeros((height, width), np.uint8)
    scale = 1 << _EDGE_SUPERSAMPLE_BITS
    fixed = np.round(outline * scale).astype(np.int32)
    cv2.fillPoly(canvas, [fixed], 255, lineType=cv2.LINE_AA, shift=_EDGE_SUPERSAMPLE_BITS)
    return canvas.astype(np.float64) / 255.0


def _surface_coords(
    upper: np.ndarray, lower: np.ndarray, x0: int, y0: int, inside: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(u, v) fabric coordinates of every pixel of the crop: u 0..1 left to right, v 0..1 from the
    upper to the lower edge; both float (h, w), defined where `inside`.

    The mask is a lens between its two edges: point(u, v) = (1 - v) upper(u) + v lower(u), so
    lines of constant v (pleats, stripes) converge at the side corners as real pleats do.
    """
    n_u, n_v = 64, 24
    us = np.linspace(0.0, 1.0, n_u)
    vs = np.linspace(0.0, 1.0, n_v)
    top = _resample(upper, n_u)
    bottom = _resample(lower, n_u)
    grid = (1 - vs[None, :, None]) * top[:, None, :] + vs[None, :, None] * bottom[:, None, :]
    uu, vv = np.meshgrid(us, vs, indexing="ij")
    keep = (uu > 0) & (uu < 1)  # the corners are single points: drop the duplicates there
    sources = grid[keep] - (x0, y0)
    values = np.stack([uu[keep], vv[keep]], axis=1)
    ys, xs = np.nonzero(inside)
    queries = np.stack([xs, ys], axis=1).astype(np.float64)
    # imported here: scipy.interpolate costs about 0.1 s to import and `unmask run` never needs it
    from scipy.interpolate import LinearNDInterpolator, NearestNDInterpolator

    uv = LinearNDInterpolator(sources, values)(queries)
    missing = np.isnan(uv[:, 0])
    if missing.any():
        uv[missing] = NearestNDInterpolator(sources, values)(queries[missing])
    u = np.zeros(inside.shape)
    v = np.zeros(inside.shape)
    u[ys, xs] = np.clip(uv[:, 0], 0, 1)
    v[ys, xs] = np.clip(uv[:, 1], 0, 1)
    return u, v


def _albedo(
    kind: str,
    u: np.ndarray,
    v: np.ndarray,
    rng: np.random.Generator,
    color: tuple[int, int, int] | None,
    face_width: float,
) -> np.ndarray:
    """Fabric colour (h, w, 3) float 0-255 before shading, drawn in (u, v)."""
    look = kind
    if kind == "pulled_down":
        look = str(rng.choice(["surgical", "cloth"]))
    grain = _grain(u, v, rng, face_width)
    if look == "surgical":
        base = np.array(color if color is not None else list(_SURGICAL_COLOURS.values())[rng.integers(len(_SURGICAL_COLOURS))], float)
        out = base * (1 + 0.03 * grain)[..., None]
        binding = (v < 0.045) | (v > 0.955)  # the folded-over edge tape
        out[binding] *= 0.93
        return out
    if look in ("n95", "kn95"):
        base = np.array(color if color is not None else list(_RESPIRATOR_COLOURS.values())[rng.integers(len(_RESPIRATOR_COLOURS))], float)
        out = base * (1 + 0.05 * grain)[..., None]
        rim = (v < 0.05) | (v > 0.95) | (u < 0.03) | (u > 0.97)  # the welded rim
        out[rim] *= 0.9
        if look == "kn95":
            out[np.abs(u - 0.5) < 0.006] *= 0.72  # the vertical centre seam of a folded KN95
        return out
    if look == "cloth":
        base = np.array(color if color is not None else _cloth_colour(rng), float)
        second = np.clip(base * rng.uniform(0.45, 0.8) + rng.uniform(-40, 40, 3), 0, 255)
        pattern = str(rng.choice(_CLOTH_LOOKS))
        weight = cloth_pattern(pattern, u, v, rng)
        out = base * (1 - weight[..., None]) + second * weight[..., None]
        return out * (1 + 0.06 * grain)[..., None]
    # printed: small motifs (flowers, stars, circles) of several colours on a base print colour
    base = np.array(color if color is not None else _cloth_colour(rng), float)
    out = np.broadcast_to(base, u.shape + (3,)).copy()
    palette = [np.clip(rng.uniform(0, 255, 3), 0, 255) for _ in range(3)]
    cells = int(rng.integers(6, 10))
    cu, cv_ = u * cells, v * cells * 0.6
    iu, iv = np.floor(cu), np.floor(cv_)
    jitter = np.sin(iu * 12.9898 + iv * 78.233 + rng.uniform(0, 6)) * 0.5 + 0.5  # hash per cell
    du, dv = cu - iu - 0.5, cv_ - iv - 0.5
    radius = np.hypot(du, dv)
    angle = np.arctan2(dv, du)
    petals = 0.32 + 0.08 * np.cos(5 * angle + jitter * 6)
    motif = radius < petals
    centre = radius < 0.1
    for k, colour in enumerate(palette):
        pick = motif & (np.floor(jitter * 3) == k)
        out[pick] = colour
    out[centre & motif] = palette[0] * 0.5 + 127
    return out * (1 + 0.04 * grain)[..., None]


def _cloth_colour(rng: np.random.Generator) -> tuple[float, float, float]:
    """Any colour: a saturated one, a dark one, a pale one, or a skin-like tone."""
    family = rng.integers(4)
    if family == 0:  # skin-like tones, the hardest case for segmentation
        tone = rng.uniform(0, 1)
        return (225 - 140 * tone, 180 - 120 * tone, 150 - 105 * tone)
    if family == 1:  # dark
        return tuple(rng.uniform(15, 70, 3))
    hsv = np.uint8([[[rng.integers(0, 180), rng.integers(60, 255), rng.integers(90, 250)]]])
    if family == 2:
        hsv[0, 0, 1] = rng.integers(10, 70)  # pale / grey-ish
    return tuple(float(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


def cloth_pattern(pattern: str, u: np.ndarray, v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Weight (h, w) in [0, 1] of the second colour for `pattern` (one of `PATTERNS`) at the
    fabric coordinates u, v (float (h, w), 0..1 across the mask's width and height): woven ones,
    plaid, specks (small sparse dots, as white dots on black fabric) and lines of printed text."""
    if pattern not in PATTERNS:
        raise ValueError(f"unknown pattern {pattern!r}; choose one of {', '.join(PATTERNS)}")
    if pattern == "solid":
        return np.zeros_like(u)
    freq = rng.uniform(6, 14)
    if pattern == "stripes":
        along = u if rng.random() < 0.5 else v
        return (np.sin(along * freq * 2 * np.pi) > 0.3).astype(float)
    if pattern == "checks":
        a = np.sin(u * freq * 2 * np.pi) > 0
        b = np.sin(v * freq * 0.6 * 2 * np.pi) > 0
        return 0.5 * a + 0.5 * b
    if pattern == "dots":
        du = (u * freq) % 1 - 0.5
        dv = (v * freq * 0.6) % 1 - 0.5
        return (np.hypot(du, dv) < 0.22).astype(float)
    if pattern == "plaid":  # bands of two widths both ways, a thin line between
        wide = (np.sin(u * freq * np.pi) > 0.4).astype(float) + (np.sin(v * freq * 0.6 * np.pi) > 0.4)
        thin = (np.abs(np.sin(u * freq * 2 * np.pi)) > 0.97) | (np.abs(np.sin(v * freq * 1.2 * np.pi)) > 0.97)
        return np.clip(0.35 * wide + 0.8 * thin, 0, 1)
    if pattern == "specks":  # small dots on a staggered grid, each moved a little within its cell
        cells = rng.uniform(10, 22)
        cu, cv_ = u * cells, v * cells * 0.6
        iu, iv = np.floor(cu), np.floor(cv_)
        seed = rng.uniform(0, 6)
        du = cu - iu - 0.5 - 0.25 * np.sin(iu * 12.9898 + iv * 78.233 + seed) - 0.5 * (iv % 2)
        dv = cv_ - iv - 0.5 - 0.25 * np.sin(iu * 39.346 + iv * 11.135 + seed)
        return (np.hypot(np.abs(du) % 1, dv) < rng.uniform(0.1, 0.18)).astype(float)
    if pattern == "text":  # a word in rows, as printed slogans and logos
        return _text_pattern(u, v, rng)
    # woven: a fine twill of diagonal threads with random strength
    return 0.5 + 0.5 * np.sin((u * 3 + v) * freq * 8 * np.pi) * rng.uniform(0.3, 0.8)


def _text_pattern(u: np.ndarray, v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Weight (h, w) in [0, 1]: a random capital-letter word repeated in 1 to 4 rows over (u, v)."""
    letters = np.array(list("ABCDEFGHKLMNOPRSTUVWXYZ"))
    word = "".join(rng.choice(letters, int(rng.integers(3, 8))))
    font, scale, thick = cv2.FONT_HERSHEY_SIMPLEX, 1.0, int(rng.integers(2, 5))
    (width, height), _ = cv2.getTextSize(word + " ", font, scale, thick)
    tile = np.zeros((2 * height, width), np.uint8)
    cv2.putText(tile, word, (0, int(1.5 * height)), font, scale, 255, thick, cv2.LINE_AA)
    rows = rng.uniform(1, 4)
    across = rows * 0.5 * tile.shape[0] / tile.shape[1] * 4  # the word's look kept on a mask twice as wide as high
    x = ((u * across + rng.uniform(0, 1)) % 1) * (tile.shape[1] - 1)
    y = ((v * rows) % 1) * (tile.shape[0] - 1)
    return cv2.remap(tile, x.astype(np.float32), y.astype(np.float32), cv2.INTER_LINEAR) / 255.0


def _grain(u: np.ndarray, v: np.ndarray, rng: np.random.Generator, face_width: float) -> np.ndarray:
    """Fine fabric grain in [-1, 1]: smoothed noise, about 1/200 of the face wide."""
    noise = rng.uniform(-1, 1, u.shape).astype(np.float32)
    sigma = max(0.6, face_width / 400)
    return np.clip(cv2.GaussianBlur(noise, (0, 0), sigma) * 3, -1, 1).astype(np.float64)


def _shading(kind: str, u: np.ndarray, v: np.ndarray, rng: np.random.Generator, face_width: float) -> np.ndarray:
    """Diffuse shading (h, w) of the mask surface under a random key light.

    The surface height is a dome over (u, v) (a cup for respirators), a ridge over the nose and,
    for surgical masks, three pleat folds; normals come from its image-space gradient.
    """
    dome = np.sin(np.pi * u) ** (0.8 if kind in ("n95", "kn95") else 0.5) * (0.55 + 0.45 * np.sin(np.pi * v))
    nose = np.exp(-(((u - 0.5) / 0.09) ** 2) - (v / 0.3) ** 2)
    height = (0.22 if kind in ("n95", "kn95") else 0.14) * face_width * dome + 0.05 * face_width * nose
    if kind in ("surgical", "pulled_down"):
        folds = np.clip((v - 0.22) / 0.56, 0, 1) * 3  # three pleats in the middle band
        saw = folds % 1.0
        pleat = np.where((v > 0.22) & (v < 0.78), saw**2, 0.0)
        height += 0.012 * face_width * pleat * np.sin(np.pi * u) ** 0.3
    if kind == "kn95":
        height += 0.02 * face_width * np.exp(-(((u - 0.5) / 0.02) ** 2))  # the fold ridge
    gy, gx = np.gradient(cv2.GaussianBlur(height.astype(np.float32), (0, 0), 1.0).astype(np.float64))
    normal = np.stack([-gx, -gy, np.ones_like(gx)], axis=-1)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    light = np.array([rng.uniform(-0.6, 0.6), rng.uniform(-0.7, 0.1), 1.0])
    light /= np.linalg.norm(light)
    diffuse = np.clip(normal @ light, 0, 1)
    ambient = rng.uniform(0.25, 0.4)
    return ambient + (1 - ambient) * diffuse


def _scene_light(image: np.ndarray, region: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The photo's own low-frequency light over the mask (h, w), about 1 on average, so a mask in
    the shade of a face is darker too."""
    y0, y1, x0, x1 = box
    gray = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY).astype(np.float32) + 1.0
    sigma = max(2.0, (x1 - x0) / 8)
    smooth = cv2.GaussianBlur(gray, (0, 0), sigma).astype(np.float64)
    level = np.median(smooth[region[y0:y1, x0:x1]])
    return np.clip((smooth / level) ** 0.5, 0.6, 1.3)
