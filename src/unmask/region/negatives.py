"""Things beside a face mask that are not mask, painted on a photo for the region network's training.

The network learned from composites of masks alone that "dark below the eyes" means mask, and took
dark hair, sweaters and microphones (docs/evaluation.md, "Ninth pass"). `paint_negative` draws one
such thing from the face's 68 landmarks: hair falling beside the face, a collar, turtleneck or
scarf under the chin, a beard, a hand, a microphone or sunglasses, dark most of the time. Shapes
live in the face frame (`unmask.region.frame`: units of the eye distance d, origin between the
eyes, y down), so they follow the head's size and roll. Kinds in `OVER_MASK` are in front of a mask
(paint them after it and take their pixels out of its region); the others are behind it.
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask.region.frame import face_frame
from unmask.region.synthetic import PATTERNS, cloth_pattern, coverage

NEGATIVE_KINDS: tuple[str, ...] = ("hair", "collar", "scarf", "beard", "hand", "microphone", "sunglasses")
"""Every kind `paint_negative` draws."""
OVER_MASK: frozenset[str] = frozenset({"hair", "hand", "microphone", "sunglasses"})
"""Kinds in front of a face mask; the rest (clothing, beard) are under it."""


def paint_negative(
    image: np.ndarray,
    landmarks: np.ndarray,
    kind: str,
    rng: np.random.Generator,
    colour: tuple[int, int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Paint one thing of `kind` (one of `NEGATIVE_KINDS`) on a face.

    image: uint8 RGB (H, W, 3); landmarks: float (68, 2) photo pixels, iBUG order; `colour` (RGB
    0-255) the thing's base colour (default: drawn from `rng`, dark most of the time; a hand takes
    the skin's colour under the eyes). Returns the painted image uint8 (H, W, 3) and the pixels it
    covers (bool (H, W), coverage >= 0.5).
    """
    if kind not in NEGATIVE_KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(NEGATIVE_KINDS)}")
    points = np.asarray(landmarks, np.float64)
    if points.shape != (68, 2):
        raise ValueError(f"expected (68, 2) landmarks, got {points.shape}")
    frame = face_frame(points)
    jaw = frame.to_frame(points[:17])
    outlines = _SHAPES[kind](jaw, rng)
    height, width = image.shape[:2]
    alpha = np.zeros((height, width))
    for outline in outlines:
        alpha = np.maximum(alpha, coverage(frame.to_photo(outline), height, width))
    if kind == "beard":  # stubble lets the skin through
        alpha *= np.clip(rng.uniform(0.55, 1.0) + 0.25 * _noise(alpha.shape, 0.7, 0.7, rng), 0, 1)
    covered = alpha >= 0.5
    if not covered.any():
        return image.copy(), covered
    if colour is None:
        if kind == "hand" and rng.random() < 0.8:
            colour = skin_colour(image, points)
        else:
            colour = _hair_colour(rng) if kind in ("hair", "beard") else _dark_leaning(rng)
    grid = frame.grid(alpha.shape)  # frame coordinates of every pixel, shared by texture and light
    texture = _texture(kind, grid, frame.d, rng)
    light = _light(grid, rng)
    paint = np.asarray(colour, np.float64) * (texture * light)[..., None]
    a = alpha[..., None]
    painted = np.clip(np.round(a * paint + (1 - a) * image), 0, 255).astype(np.uint8)
    return painted, covered


def _hair(jaw: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Locks falling beside one or both cheeks, from above the temple to below the chin, their inner
    edge from just outside the jaw to a fifth of d over the cheek; a fringe over the forehead a third
    of the time."""
    locks = []
    sides = [-1, 1] if rng.random() < 0.5 else [rng.choice([-1, 1])]
    for side in sides:
        edge = jaw[:9] if side < 0 else jaw[8:][::-1]  # from the temple down to the chin
        inward = rng.uniform(-0.15, 0.2)
        inner = edge[: int(rng.integers(3, 6))] - side * np.array([inward, 0.0])  # down to the mouth at most
        inner = np.concatenate([[[inner[0, 0], -1.3]], inner])
        bottom = inner[-1, 1] + rng.uniform(0.3, 2.0)
        outer_x = inner[:, 0].max() if side > 0 else inner[:, 0].min()
        outer_x += side * rng.uniform(0.4, 1.2)
        outer = np.array([[inner[-1, 0] + side * rng.uniform(0, 0.3), bottom], [outer_x, bottom], [outer_x, -1.6]])
        locks.append(np.concatenate([inner, outer]) + rng.normal(0, 0.03, (len(inner) + 3, 2)))
    if rng.random() < 0.33:
        line = rng.uniform(-0.75, -0.45)
        locks.append(np.array([[jaw[0, 0] - 0.2, -2.5], [jaw[16, 0] + 0.2, -2.5], [jaw[16, 0] + 0.1, line],
                               [0, line + rng.uniform(-0.1, 0.1)], [jaw[0, 0] - 0.1, line]]))
    return locks


def _collar(jaw: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """A garment from below the chin (a turtleneck up to it, a round or V neck lower) to the frame's
    bottom, wider than the face."""
    chin = jaw[8, 1]
    top = chin + rng.uniform(-0.05, 0.9)
    deep = rng.uniform(0, 1.0) if rng.random() < 0.4 else 0.0  # a V neck's depth
    half = rng.uniform(0.4, 0.9)
    shoulders = top + rng.uniform(0.2, 0.8)
    return [np.array([[-4.0, shoulders], [-half - 0.4, top + 0.1], [-half, top], [0, top + deep], [half, top],
                      [half + 0.4, top + 0.1], [4.0, shoulders], [4.0, 6.0], [-4.0, 6.0]])]


def _scarf(jaw: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """A scarf or hood wrapped up to the jaw: its top edge follows the jaw line from below, from
    touching it to a third of d under it."""
    gap = rng.uniform(0.0, 0.35)
    edge = jaw[2:15] + [0, gap]
    return [np.concatenate([[[edge[0, 0] - 1.5, edge[0, 1] + 0.3]], edge, [[edge[-1, 0] + 1.5, edge[-1, 1] + 0.3],
                                                                      [edge[-1, 0] + 1.5, 6.0], [edge[0, 0] - 1.5, 6.0]]])]


def _beard(jaw: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """A beard along the jaw from the sideburns down to under the chin (a band beyond the jaw line, as
    a mask leaves it visible), up the cheeks to below the nose; a moustache half of the time."""
    upper = rng.uniform(0.55, 0.9)
    start = int(rng.integers(0, 3))
    below = rng.uniform(0.1, 0.45)  # how far the beard reaches past the jaw line
    centre = jaw[8] - [0, 0.8]
    outer = jaw[start:17 - start] + below * (jaw[start:17 - start] - centre) / np.linalg.norm(
        jaw[start:17 - start] - centre, axis=1, keepdims=True)
    sideburns = [[jaw[start, 0] + 0.05, -0.45], [jaw[16 - start, 0] - 0.05, -0.45]]
    outline = np.concatenate([[sideburns[0]], outer, [sideburns[1]], [[jaw[16 - start, 0] - 0.3, upper],
                              [jaw[start, 0] + 0.3, upper]]])
    shapes = [outline]
    if rng.random() < 0.5:
        shapes.append(np.array([[-0.45, 0.88], [0, 0.8], [0.45, 0.88], [0.4, 1.02], [0, 0.95], [-0.4, 1.02]]))
    return shapes


def _ellipse(centre: np.ndarray, axes: tuple[float, float], angle: float) -> np.ndarray:
    """An ellipse's outline (36, 2) in frame units; `angle` in degrees."""
    t = np.linspace(0, 2 * np.pi, 36, endpoint=False)
    c, s = np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle))
    x, y = axes[0] * np.cos(t), axes[1] * np.sin(t)
    return centre + np.stack([c * x - s * y, s * x + c * y], axis=1)


def _hand(jaw: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """A palm and four fingers, about a face's height long, over the lower face or beside it, at any
    angle (a hand on the cheek, at the chin, holding the mask)."""
    centre = np.array([rng.uniform(-1.3, 1.3), rng.uniform(0.6, 2.4)])
    angle = rng.uniform(0, 360)
    along = np.array([np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle))])
    across = np.array([-along[1], along[0]])
    palm = rng.uniform(0.45, 0.6)
    shapes = [_ellipse(centre, (palm, palm * 0.8), angle)]
    length = rng.uniform(0.5, 0.85)
    for k in (-1.5, -0.5, 0.5, 1.5):
        base = centre + along * palm * 0.7 + across * k * palm * 0.42
        shapes.append(_ellipse(base + along * length / 2, (length / 2, palm * 0.23), angle))
    return shapes


def _microphone(jaw: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """A microphone's head in front of the mouth or chin and its handle out to the frame."""
    head = np.array([rng.uniform(-0.7, 0.7), rng.uniform(0.9, 1.9)])
    radius = rng.uniform(0.22, 0.45)
    angle = rng.uniform(45, 135)  # the handle runs down and to either side
    along = np.array([np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle))])
    across = np.array([-along[1], along[0]]) * radius * rng.uniform(0.35, 0.6)
    handle = np.array([head + across, head + 6 * along + across * 0.8, head + 6 * along - across * 0.8, head - across])
    return [_ellipse(head, (radius, radius * rng.uniform(0.9, 1.3)), angle), handle]


def _sunglasses(jaw: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Two dark lenses over the eyes and the bridge between them."""
    size = rng.uniform(0.3, 0.42)
    drop = rng.uniform(0.0, 0.12)
    lenses = [_ellipse(np.array([side * 0.5, drop]), (size, size * rng.uniform(0.7, 0.95)), 0) for side in (-1, 1)]
    bridge = np.array([[-0.2, drop - 0.1], [0.2, drop - 0.1], [0.2, drop - 0.04], [-0.2, drop - 0.04]])
    return lenses + [bridge]


_SHAPES = {"hair": _hair, "collar": _collar, "scarf": _scarf, "beard": _beard, "hand": _hand,
           "microphone": _microphone, "sunglasses": _sunglasses}


def _noise(shape: tuple[int, int], sigma_x: float, sigma_y: float, rng: np.random.Generator) -> np.ndarray:
    """Smoothed noise (h, w), about unit spread."""
    raw = cv2.GaussianBlur(rng.normal(0, 1, shape).astype(np.float32), (0, 0), sigma_x, sigmaY=sigma_y)
    return raw / max(float(raw.std()), 1e-6)


def _texture(kind: str, grid: np.ndarray, d: float, rng: np.random.Generator) -> np.ndarray:
    """Brightness factor (h, w) around 1: strands for hair and beards, a print or knit for clothing,
    a fine mesh for microphones, smooth skin for hands. `grid` float (h, w, 2): the frame
    coordinates of every pixel; `d` the eye distance in pixels."""
    shape = grid.shape[:2]
    if kind in ("hair", "beard"):
        # strands run along the face's down direction; at small roll that is the image's y
        return 1 + rng.uniform(0.15, 0.35) * _noise(shape, max(0.5, 0.01 * d), max(1.0, 0.12 * d), rng)
    if kind in ("collar", "scarf"):
        u, v = grid[..., 0] / 3, grid[..., 1] / 3
        weight = cloth_pattern(str(rng.choice(PATTERNS)), u, v, rng) if rng.random() < 0.5 else 0 * u
        return (1 - 0.5 * weight * rng.uniform(-1, 1)) * (1 + 0.06 * _noise(shape, 0.6, 0.6, rng))
    if kind == "microphone":
        fine = grid * 25
        mesh = (np.abs(np.sin(fine[..., 0] + fine[..., 1])) > 0.9) | (np.abs(np.sin(fine[..., 0] - fine[..., 1])) > 0.9)
        return 1 + 0.3 * mesh
    return 1 + 0.04 * _noise(shape, 1.0, 1.0, rng)


def _light(grid: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A soft light gradient (h, w) across the face frame (`grid` as `_texture`'s), 0.7 to 1.3."""
    slope = rng.normal(0, 0.12, 2)
    return np.clip(1 + grid[..., 0] * slope[0] + grid[..., 1] * slope[1], 0.7, 1.3)


def skin_colour(image: np.ndarray, landmarks: np.ndarray) -> tuple[int, int, int]:
    """The median RGB colour of the cheeks just under the eyes (frame y 0.15-0.3) of a uint8 RGB
    image (H, W, 3) with 68 landmarks: a hand's colour. Take it before a mask is painted."""
    grid = face_frame(np.asarray(landmarks, np.float64)).grid(image.shape[:2])
    under_eyes = (np.abs(np.abs(grid[..., 0]) - 0.55) < 0.15) & (np.abs(grid[..., 1] - 0.22) < 0.08)
    if not under_eyes.any():
        return 200, 160, 140
    return tuple(int(v) for v in np.median(image[under_eyes], axis=0))


def _dark_leaning(rng: np.random.Generator) -> tuple[int, int, int]:
    """A hair or clothing colour: black to dark brown 60 % of the time, else any colour."""
    if rng.random() < 0.6:
        level = rng.uniform(12, 70)
        return tuple(int(v) for v in np.clip(level * np.array([1.0, rng.uniform(0.75, 1.0), rng.uniform(0.55, 1.0)]), 0, 255))
    hsv = np.uint8([[[rng.integers(0, 180), rng.integers(0, 255), rng.integers(30, 250)]]])
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


def _hair_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    """A hair colour: black or dark brown 70 % of the time, else brown, auburn, blond or grey."""
    if rng.random() < 0.7:
        level = rng.uniform(10, 55)
        return int(level * 1.15), int(level), int(level * 0.8)
    base = np.array([(110, 75, 50), (130, 60, 35), (200, 170, 120), (150, 150, 150)][rng.integers(4)], np.float64)
    return tuple(int(v) for v in np.clip(base * rng.uniform(0.7, 1.2), 0, 255))
