"""A 3-D face shape under the 2-D landmarks: head pose, and hidden landmarks that turn with the head.

The face is seen under weak perspective (scaled orthographic projection): a landmark X (3-D, in
the shape's frame: x to the image's right, y down, z away from the camera; eye centres at
(-0.5, 0, z) and (0.5, 0, z)) lands at `scale * (R @ X)[:2] + translation` in the photo. That is
exact enough for faces photographed from more than a metre or so (the depth of a face is small
against the distance), and it needs no focal length.

`fit_pose` finds R (yaw, pitch, roll), scale and translation from landmarks (all 68 or only the
ones a mask leaves visible) by Levenberg-Marquardt from an affine fit and its depth mirror image. The shape itself is
`unmask.face.mean_shape3d.MEAN_SHAPE3D` (68 points of MediaPipe's canonical face mesh, chosen by
`scripts/derive_shape3d.py`).

`lift` gives a photo's own 68 landmarks a depth: the mean shape fitted to them, its x and y in the
camera's frame replaced by the photo's (its own proportions), its depth kept. `hidden_landmarks`
fits such a lifted reference (or the mean shape) to the visible landmarks of a masked target and
projects the reference's nose, mouth and jaw in the target's pose: a head turned away from the
reference gets its lower face turned too, not a front-facing one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unmask.face.hidden import HIDDEN, VISIBLE, _check

_ITERATIONS = 30


@dataclass(frozen=True)
class Pose:
    """Weak-perspective pose: a shape point X (3,) lands at `scale * (rotation @ X)[:2] + translation`."""

    rotation: np.ndarray  # (3, 3), proper rotation
    scale: float  # photo pixels per eye distance of the shape
    translation: np.ndarray  # (2,) photo pixels

    def project(self, shape: np.ndarray) -> np.ndarray:
        """(N, 2) photo positions of the shape points (N, 3)."""
        return self.scale * (np.asarray(shape, np.float64) @ self.rotation.T)[:, :2] + self.translation

    def angles(self) -> tuple[float, float, float]:
        """(yaw, pitch, roll) in degrees for rotation = Rz(roll) @ Ry(yaw) @ Rx(pitch) (`rotation`):
        yaw > 0 turns the face's front (-z) towards the image's left, pitch > 0 turns it
        down (the face looks down), roll > 0 turns the face clockwise in the image."""
        r = self.rotation
        yaw_ = np.degrees(np.arcsin(np.clip(-r[2, 0], -1.0, 1.0)))
        pitch = np.degrees(np.arctan2(r[2, 1], r[2, 2]))
        roll = np.degrees(np.arctan2(r[1, 0], r[0, 0]))
        return float(yaw_), float(pitch), float(roll)


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """(3, 3) rotation Rz(roll) @ Ry(yaw) @ Rx(pitch), angles in degrees (see `Pose.angles`)."""
    y, p, r = np.radians([yaw, pitch, roll])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx


def fit_pose(points: np.ndarray, shape: np.ndarray) -> Pose:
    """The weak-perspective pose that best projects `shape` (N, 3) onto the photo `points` (N, 2),
    N >= 4 and not all on one line, in the least-squares sense."""
    points = np.asarray(points, np.float64)
    shape = np.asarray(shape, np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or shape.shape != (len(points), 3) or len(points) < 4:
        raise ValueError(f"expected (N, 2) points and (N, 3) shape, N >= 4; got {points.shape}, {shape.shape}")
    # the start: the least-squares affine projection, made a scaled rotation; and its depth mirror
    # image (weak perspective cannot tell them apart on a flat shape), and a frontal pose
    centred, model = points - points.mean(axis=0), shape - shape.mean(axis=0)
    affine = np.linalg.lstsq(model, centred, rcond=None)[0].T  # (2, 3)
    u, singular, vt = np.linalg.svd(affine, full_matrices=False)
    rows = u @ vt
    start = Pose(np.vstack([rows, np.cross(rows[0], rows[1])]), float(singular.mean()), np.zeros(2))
    yaw_, pitch, roll = start.angles()
    best, best_cost = None, np.inf
    for angles in ((yaw_, pitch, roll), (-yaw_, -pitch, roll), (0.0, 0.0, roll)):
        pose = _refine(points, shape, Pose(rotation(*angles), start.scale, np.zeros(2)))
        cost = ((pose.project(shape) - points) ** 2).sum()
        if cost < best_cost - 1e-9:
            best, best_cost = pose, cost
    return best


def _refine(points: np.ndarray, shape: np.ndarray, pose: Pose) -> Pose:
    """Levenberg-Marquardt on (rotation increment, scale, translation) from `pose`."""
    rot, scale = pose.rotation, pose.scale
    translation = (points - scale * (shape @ rot.T)[:, :2]).mean(axis=0)
    damping = 1e-3
    cost = np.inf
    for _ in range(_ITERATIONS):
        turned = shape @ rot.T  # (N, 3)
        residual = (scale * turned[:, :2] + translation - points).ravel()
        cost = residual @ residual
        jac = np.zeros((len(points), 2, 6))
        # d(R X) for R <- exp([w]x) R is w x (R X) = -[RX]x w
        x, y, z = turned.T
        jac[:, 0, 0:3] = scale * np.stack([np.zeros_like(x), z, -y], axis=1)
        jac[:, 1, 0:3] = scale * np.stack([-z, np.zeros_like(x), x], axis=1)
        jac[:, :, 3] = turned[:, :2]
        jac[:, 0, 4] = 1.0
        jac[:, 1, 5] = 1.0
        jac = jac.reshape(-1, 6)
        normal = jac.T @ jac
        gradient = jac.T @ residual
        while True:
            step = np.linalg.solve(normal + damping * np.diag(np.diag(normal) + 1e-12), -gradient)
            new_rot = _exp(step[:3]) @ rot
            new_scale, new_translation = scale + step[3], translation + step[4:]
            new = (new_scale * (shape @ new_rot.T)[:, :2] + new_translation - points).ravel()
            if new @ new <= cost or damping > 1e6:
                break
            damping *= 10
        if new @ new > cost:
            break
        improvement = cost - new @ new
        rot, scale, translation = new_rot, new_scale, new_translation
        damping = max(damping / 10, 1e-9)
        if improvement <= 1e-12 * max(cost, 1e-12):
            break
    if scale < 0:  # a negative scale is a half-turn about z: keep the scale positive
        rot, scale = np.diag([-1.0, -1.0, 1.0]) @ rot, -scale
    return Pose(rot, float(scale), translation)


def _exp(w: np.ndarray) -> np.ndarray:
    """Rotation matrix of the rotation vector w (3,) (Rodrigues)."""
    angle = np.linalg.norm(w)
    if angle < 1e-12:
        return np.eye(3)
    k = w / angle
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross


def lift(points: np.ndarray, shape: np.ndarray | None = None) -> np.ndarray:
    """(68, 3) shape-frame points of a face whose photo landmarks are `points` (68, 2): `shape`
    (default `MEAN_SHAPE3D`) fitted to them, its image-plane coordinates replaced by the photo's and
    its depth kept, turned back into the shape frame and scale (so `fit_pose(points, lift(points))`
    projects exactly onto `points`)."""
    shape = _mean() if shape is None else np.asarray(shape, np.float64)
    points = _check(points)
    pose = fit_pose(points, shape)
    camera = shape @ pose.rotation.T
    camera[:, :2] = (points - pose.translation) / pose.scale
    return camera @ pose.rotation


def hidden_landmarks(landmarks: np.ndarray, reference_landmarks: np.ndarray | None = None) -> np.ndarray:
    """(68, 2) landmarks with the hidden points (`hidden.HIDDEN`) placed by the 3-D shape: the
    reference's own (`lift` of `reference_landmarks` (68, 2), any photo of the same person) or the
    mean shape, posed by `fit_pose` on the `hidden.VISIBLE` points of `landmarks` (68, 2) and
    projected. The visible points are returned unchanged."""
    target = _check(landmarks)
    shape = _mean() if reference_landmarks is None else lift(reference_landmarks)
    out = target.copy()
    out[HIDDEN] = fit_pose(target[VISIBLE], shape[VISIBLE]).project(shape[HIDDEN])
    return out


def _mean() -> np.ndarray:
    from unmask.face.mean_shape3d import MEAN_SHAPE3D

    return np.array(MEAN_SHAPE3D)
