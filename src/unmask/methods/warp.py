"""Method `warp`: the reference's own lower face, warped into the target's pose and composited.

1. Pose: if the mirrored reference's visible landmarks fit the target's better than the reference's
   own (`unmask.references.pose_mismatch`: it is turned the other way), it is mirrored with its
   landmarks.
2. Hidden landmarks: with `shape` "3d" (`unmask.face.shape3d.hidden_landmarks`) the reference's
   landmarks get a depth from the 3-D face shape, the visible eyes, brows, upper nose bridge and
   jaw ends of the target fix its head pose (yaw, pitch, roll), and the reference's nose, mouth
   and jaw projected in that pose are the target's hidden points: a turned head gets a turned
   lower face. With "2d" (`unmask.face.hidden`) a similarity transform from the reference's
   visible points instead, the jaw shifted for the difference in head turn.
3. Warp: a smoothing thin-plate spline through the 68 point pairs, two rings of points beyond the
   jaw and a frame on the crop border maps every target pixel to a reference pixel, so the whole
   region (also where the mask reaches past the jaw line) is covered by reference pixels. The
   smoothing (`regularization`) lets the spline miss noisy landmarks a little rather than bend
   the reference's features to hit them exactly.
4. Light: the warped reference is relit to the shape of the target's light (`unmask.relight`),
   learned where both show the same skin: the target's face and forehead (`head_zone`) outside
   the region and its shadow.
5. Composite: Poisson cloning of the warped reference into the (grown) region, inside the face
   and neck (`face_zone`); the rest of the region is filled from the target's surroundings
   instead. Below the chin one smooth line separates the neck from the clothing (`neck_layout`,
   `unmask.methods.neck`): under it the region is filled from the target's own clothing, above
   it the reference's neck is cloned, carried a short way over the reference's own collar where
   the target's neck goes on lower.
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from unmask.blend import composite_region, grow_region, poisson_composite
from unmask.face.hidden import estimate_hidden_landmarks, fit_similarity, mirror_landmarks, yaw
from unmask.face.shape3d import hidden_landmarks
from unmask.face.skin import visible_skin
from unmask.methods.base import AlignedCase, Completion, Method, Progress
from unmask.methods.neck import (MAX_COVER, SEEN_WEIGHT, NeckLayout, bridge_open_runs, collar_line, cover_foreign,
                                 fill_clothing, neck_skin, open_below, seen_collar, smooth_line)
from unmask.references import TRIES, pose_mismatch
from unmask.relight import light_mismatch, relight

_SHADOW = 0.02  # the target's skin this close to the region (a mask's shadow) does not teach the light
_FOREHEAD = 0.6  # the forehead's visible height above the brows, in eye distances
_FILL_SIDE = 256  # side at which the surroundings are inpainted
_NECK = 0.6  # the neck reaches this many nose-to-chin lengths below the chin
_RINGS = (1.3, 1.7)  # jaw points pushed out from the nose by these factors: the warp's outer support
_FRAME = 3  # frame points per crop side (plus corners)
_TPS_NODES = 97  # the spline is evaluated on a grid of this many nodes a side and interpolated (it is smooth)


class WarpMethod(Method):
    """Warp the reference's lower face onto the target's estimated landmarks, then Poisson-clone it.

    Options: `mirror` "auto" (mirror a reference whose mirror image fits the target's pose better),
    "never" or "always";
    `size` the aligned crop side (default 512); `regularization` the spline's smoothing (0 = exact
    through every point); `surroundings` fill the region outside the face and neck from the
    target's surroundings (else from the reference too); `shape` "3d" or "2d", how the hidden
    landmarks are placed (module docstring, step 2)."""

    name = "warp"
    wide_crop = True
    tries = TRIES  # a second or two per reference

    def __init__(self, mirror: str = "auto", size: int = 512, regularization: float = 0.1,
                 surroundings: bool = True, shape: str = "2d"):
        if mirror not in ("auto", "never", "always"):
            raise ValueError(f"mirror must be 'auto', 'never' or 'always', not {mirror!r}")
        if shape not in ("3d", "2d"):
            raise ValueError(f"shape must be '3d' or '2d', not {shape!r}")
        self.shape = shape
        self.mirror = mirror
        self.surroundings = bool(surroundings)
        self.size = int(size)
        self.regularization = float(regularization)

    def complete(self, case: AlignedCase, progress: Progress | None = None) -> Completion:
        """Fill `case.region` with the warped reference; see the module docstring."""
        say = progress or (lambda message: None)
        start = time.perf_counter()
        reference, ref_points = case.reference, case.reference_landmarks
        target_yaw, ref_yaw = yaw(case.target_landmarks), yaw(ref_points)
        mirrored = self.mirror == "always" or (
            self.mirror == "auto" and pose_mismatch(case.target_landmarks, ref_points)[1]
        )
        if mirrored:
            say("mirroring the reference (it faces the other way)")
            reference, ref_points = mirror_face(reference, ref_points)
        say("estimating the hidden landmarks from the reference")
        place = hidden_landmarks if self.shape == "3d" else estimate_hidden_landmarks
        target_points = place(case.target_landmarks, ref_points)
        say("warping the reference onto them")
        warped = warp_face(reference, ref_points, target_points, case.size, self.regularization)
        face = face_zone(target_points, case.size)
        skin = visible_skin(case.target, target_points) & ~case.region
        say("relighting it to the target's light")
        shadow = grow_region(case.region, max(1, round(_SHADOW * case.size)))
        head = head_zone(target_points, case.size) & ~shadow
        warped = relight(case.target, warped, head | ((face | skin) & ~shadow), target_points, case.region)
        say("Poisson compositing")
        source = warped
        if self.surroundings:
            layout = neck_layout(case.target, warped, target_points, case.region, skin)
            elsewhere = layout.below | layout.foreign
            # the reference's own collar above the target's neck edge: its neck skin carried over it
            source = cover_foreign(warped, layout.cover, layout.reference_skin & ~layout.cover & ~elsewhere)
            face &= ~elsewhere
        outer = case.region & ~face
        # outside the face and neck the reference shows its own background: fill that from the
        # target's surroundings instead (below the neck from its clothing only), and let only the
        # target's visible face set the colours
        base = case.target
        if self.surroundings and outer.any():
            base = fill_from_surroundings(case.target, case.region)
            base = fill_clothing(base, layout.below, case.region, layout.target_skin)
            inner = case.region & face
            # also the clone's feathered edge shows the target's, not the reference's, clothing
            source = np.where(elsewhere[:, :, None], base, source)
        else:
            inner = case.region
        anchor = face & ~case.region
        image = poisson_composite(base, source, inner, anchor=anchor if self.surroundings else None,
                                  skin=skin)
        changed = composite_region(case.region)
        image[~changed] = case.target[~changed]
        return Completion(
            image=image,
            changed=changed,
            steps={"warped reference": warped, "composite": image},
            info={
                "mirrored_reference": bool(mirrored),
                "yaw": {"target": round(float(target_yaw), 3), "reference": round(float(ref_yaw), 3)},
                "target_landmarks": np.round(target_points, 2).tolist(),
                "light_mismatch": round(light_mismatch(case.target, warped, head), 3),
                "seconds": round(time.perf_counter() - start, 3),
            },
        )


def fill_from_surroundings(image: np.ndarray, region: np.ndarray) -> np.ndarray:
    """`image` (S, S, 3) with `region` (S, S) bool filled by OpenCV's Telea inpainting from the
    pixels around it, computed at about `_FILL_SIDE` px a side (the fill is smooth anyway, and
    Telea's cost grows with the region's area times the radius squared) and scaled back up."""
    side = image.shape[0]
    factor = max(1, side // _FILL_SIDE)
    small_size = (image.shape[1] // factor, image.shape[0] // factor)
    small = cv2.resize(image, small_size, interpolation=cv2.INTER_AREA)
    # any crop pixel of the region taints its small pixel: no mask colour leaks into the fill
    hole = cv2.resize(region.astype(np.float32), small_size, interpolation=cv2.INTER_AREA) > 0
    filled = cv2.inpaint(small, hole.astype(np.uint8), 3, cv2.INPAINT_TELEA)
    up = cv2.resize(filled, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
    return np.where(region[:, :, None], up, image)


def neck_layout(target: np.ndarray, warped: np.ndarray, points: np.ndarray, region: np.ndarray,
                target_skin: np.ndarray) -> NeckLayout:
    """Where the target's neck ends under the chin (`neck.NeckLayout`), in the columns of the
    face: the line follows the warped reference (uint8 (S, S, 3)) inside `region` and the target
    (uint8 (S, S, 3)) outside it, continues the collar the target shows under the region on both
    sides (`neck.bridge_open_runs`), and only under the neck zone is the region clothing.
    `points` (68, 2) are the target's landmarks, `target_skin` (bool (S, S)) its visible skin
    patches outside the region (`unmask.face.skin.visible_skin`)."""
    size = target.shape[0]
    layout = NeckLayout(*(np.zeros((size, size), bool) for _ in range(3)),
                        neck_skin(target, target_skin),
                        neck_skin(warped, visible_skin(warped, points)))
    jaw, zone = inside_jaw(points, size), face_zone(points, size)
    columns = np.nonzero(jaw.any(axis=0))[0]
    if len(columns) < 3:
        return layout
    cols = slice(columns.min(), columns.max() + 1)
    rows = np.arange(size)[:, None]
    top = size - np.argmax(jaw[::-1, cols], axis=0)  # the first row below the jaw
    # down to the neck zone's bottom, or the region's if that is lower (a mask over the whole neck)
    end = size - np.argmax(region[::-1, cols], axis=0)  # the row after the region's lowest one
    bottom = np.maximum(int(np.nonzero(zone.any(axis=1))[0].max()) + 1, end)
    top = np.minimum(top, bottom)
    # the reference's own neck edge, by its colours alone
    own = smooth_line(collar_line(layout.reference_skin[:, cols], np.ones((size, len(top))), top, bottom), top, size)
    has_neck = own - top >= MAX_COVER * size / 4  # else hair, background or clothing right under the jaw
    # the target's: where it shows its neck under the region, the neck goes on to the region's bottom
    open_ = open_below(region, layout.target_skin)[cols]
    inside = region[:, cols]
    skin = np.where(inside, layout.reference_skin[:, cols], layout.target_skin[:, cols])
    line = collar_line(skin, np.where(inside, 1.0, SEEN_WEIGHT), np.where(open_, top, bottom), bottom)
    under_neck = (zone & ~jaw).any(axis=0)[cols]
    seen = under_neck & region.any(axis=0)[cols]  # where the neck can be seen under the region
    line = bridge_open_runs(line, open_, seen_collar(region, layout.target_skin)[cols], seen)
    # the reference's neck is carried at most a short way over its own collar (`neck.cover_foreign`)
    line = smooth_line(np.minimum(line, own + MAX_COVER * size), top, size)
    layout.below[:, cols] = (rows >= line[None, :]) & under_neck[None, :]
    neck = (zone & ~jaw)[:, cols] & ~layout.below[:, cols]
    layout.cover[:, cols] = neck & (rows >= own[None, :]) & has_neck[None, :]
    layout.foreign[:, cols] = neck & ~layout.reference_skin[:, cols] & ~has_neck[None, :]
    return layout


def face_zone(points: np.ndarray, size: int) -> np.ndarray:
    """Bool (S, S): the face inside its jaw line and brows, and the neck under the chin, from
    68 landmarks in an S x S crop."""
    height = np.linalg.norm(points[8] - points[27:31].mean(axis=0))
    down = (points[8] - points[27]) / max(np.linalg.norm(points[8] - points[27]), 1e-6)
    neck = np.array([points[5], points[11], points[11] + _NECK * height * down, points[5] + _NECK * height * down])
    zone = inside_jaw(points, size).astype(np.uint8)
    cv2.fillPoly(zone, [np.round(neck).astype(np.int32)], 1)
    return zone.astype(bool)


def head_zone(points: np.ndarray, size: int) -> np.ndarray:
    """Bool (S, S): the face inside its jaw line and up to the forehead (the brows raised by
    `_FOREHEAD` eye distances), from 68 landmarks in an S x S crop."""
    return inside_jaw(points, size, _FOREHEAD)


def inside_jaw(points: np.ndarray, size: int, forehead: float = 0.0) -> np.ndarray:
    """Bool (S, S): the face inside the jaw line and brows of 68 landmarks in an S x S crop, the
    brows raised by `forehead` eye distances."""
    eyes = points[42:48].mean(axis=0) - points[36:42].mean(axis=0)
    up = np.array([eyes[1], -eyes[0]]) * forehead
    zone = np.zeros((size, size), np.uint8)
    cv2.fillPoly(zone, [np.round(np.vstack([points[0:17], points[17:27][::-1] + up])).astype(np.int32)], 1)
    return zone.astype(bool)


def mirror_face(image: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flip a crop (S, S, 3) left-right with its landmarks (68, 2), keeping the iBUG numbering
    (a left eye point stays a left eye point)."""
    return np.ascontiguousarray(image[:, ::-1]), mirror_landmarks(points, image.shape[1] - 1)


def warp_face(
    reference: np.ndarray,
    ref_points: np.ndarray,
    target_points: np.ndarray,
    size: int,
    regularization: float = 0.1,
) -> np.ndarray:
    """The reference crop (S, S, 3) warped so its landmarks land on `target_points` (68, 2):
    a thin-plate spline through the landmarks, rings beyond the jaw and the crop frame."""
    ref_ctrl = _control_points(ref_points)
    tgt_ctrl = _control_points(target_points)
    # the crop frame moves as the whole face does, so the far background stays put
    frame = _frame(size)
    to_ref = fit_similarity(target_points, ref_points)
    dst = np.vstack([tgt_ctrl, frame])
    src = np.vstack([ref_ctrl, _apply(to_ref, frame)])
    map_x, map_y = _tps_map(dst, src, size, regularization)
    return cv2.remap(reference, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)


def _control_points(points: np.ndarray) -> np.ndarray:
    """The 68 landmarks plus the jaw line pushed out from the nose (rings beyond the jaw)."""
    centre = points[27:36].mean(axis=0)
    jaw = points[0:17]
    rings = [centre + factor * (jaw - centre) for factor in _RINGS]
    return np.vstack([points, *rings])


def _frame(size: int) -> np.ndarray:
    edge = np.linspace(0, size - 1, _FRAME + 2)
    last = float(size - 1)
    sides = [(x, 0.0) for x in edge] + [(x, last) for x in edge]
    sides += [(0.0, y) for y in edge[1:-1]] + [(last, y) for y in edge[1:-1]]
    return np.array(sides)


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) Euclidean distances between the points a (N, 2) and b (M, 2); numpy rather than
    scipy.spatial, whose import alone costs about 0.1 s of every run."""
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1))


def _tps_map(dst: np.ndarray, src: np.ndarray, size: int, regularization: float):
    """Backward maps (float32 (S, S) x and y) of the thin-plate spline taking `dst` to `src`."""
    scale = float(size)
    p = dst / scale  # unit coordinates keep the system well conditioned
    n = len(p)
    kernel = _tps_kernel(_distances(p, p))
    affine = np.hstack([np.ones((n, 1)), p])
    system = np.zeros((n + 3, n + 3))
    system[:n, :n] = kernel + regularization * np.eye(n)
    system[:n, n:] = affine
    system[n:, :n] = affine.T
    rhs = np.zeros((n + 3, 2))
    rhs[:n] = src / scale
    coef = np.linalg.solve(system, rhs)
    step = max(1.0, (size - 1) / (_TPS_NODES - 1))
    grid = np.arange(0, size - 1 + step, step)
    gx, gy = np.meshgrid(grid, grid)
    q = np.stack([gx.ravel(), gy.ravel()], axis=1) / scale
    values = _tps_kernel(_distances(q, p)) @ coef[:n]
    values += np.hstack([np.ones((len(q), 1)), q]) @ coef[n:]
    values = (values * scale).reshape(len(grid), len(grid), 2).astype(np.float32)
    # grid node k sits at pixel k * step: sample the grid at pixel / step
    pixel = np.arange(size, dtype=np.float32) / np.float32(step)
    px, py = np.meshgrid(pixel, pixel)
    map_x = cv2.remap(values[..., 0], px, py, cv2.INTER_LINEAR)
    map_y = cv2.remap(values[..., 1], px, py, cv2.INTER_LINEAR)
    return map_x, map_y


def _tps_kernel(r: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(r > 0, r * r * np.log(r * r), 0.0)
