"""Derive the 3-D 68-landmark face shape of `unmask.face.shape3d` from MediaPipe's canonical face mesh.

    python scripts/derive_shape3d.py [DATA/people] [--cache FILE] > src/unmask/face/mean_shape3d.py

The mesh (`scripts/data/mediapipe/canonical_face_model.obj`, Apache-2.0) has 468 vertices in 3-D
but no dlib (iBUG 300-W) numbering. The correspondence is found from data, not by hand:

1. dlib's landmarks on every photo under the folder (default ../shared/data/people, one
   sub-folder per person) whose head turn `hidden.yaw` is within `FRONTAL`, and their mirror
   images (a face mirrored is a face: the shape comes out left-right symmetric);
2. a start: the 2-D mean of those shapes matched to the mesh's frontal view (scale from the
   jaw's width, iterative closest vertex with a similarity);
3. alternating, `ROUNDS` times: the weak-perspective pose of every photo (`shape3d.fit_pose`)
   from the current 68 points; then, per dlib point, the point of the mesh's surface (a grid of
   `STEPS` barycentric steps on each triangle) whose projections in all those poses lie closest
   to the detected landmarks (sum of squared distances in eye distances).

Leave-persons-out validation on stderr: the correspondence derived without two persons, scored on
all photos of those two (any turn): the error of all 68 points fitted, and of the hidden points
(`hidden.HIDDEN`) placed from a pose fitted to the visible ones (`hidden.VISIBLE`), against the
2-D mean shape with its yaw shift (`hidden.estimate_hidden_landmarks` without a reference;
derived on all persons, so favoured).

Prints a Python module: the 68 points in the shape frame of `unmask.face.shape3d` (eye centres at
x = -0.5 and 0.5, y down, z away from the camera) and the mesh triangle and barycentric weights
behind each. Numbers only; no photo or part of one is stored.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from unmask.face.hidden import HIDDEN, VISIBLE, estimate_hidden_landmarks, eye_frame, mean_shape, mirror_landmarks, yaw
from unmask.face.shape3d import fit_pose

ROOT = Path(__file__).resolve().parents[1]
MESH = ROOT / "scripts" / "data" / "mediapipe" / "canonical_face_model.obj"
FRONTAL = 0.3
"""Largest |`hidden.yaw`| of a photo used for the correspondence (far-side jaw points of turned
heads are the silhouette, not fixed points of the face)."""
STEPS = 8
ROUNDS = 8
FOLDS = 5


def read_mesh(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (V, 3) turned into the shape frame (x right, y down, z away from the camera;
    MediaPipe's y is up and z towards the camera) and triangles (T, 3) of vertex indices."""
    vertices, triangles = [], []
    for line in path.read_text().splitlines():
        fields = line.split()
        if fields and fields[0] == "v":
            vertices.append([float(v) for v in fields[1:4]])
        elif fields and fields[0] == "f":
            triangles.append([int(f.split("/")[0]) - 1 for f in fields[1:4]])
    return np.array(vertices) * [1.0, -1.0, -1.0], np.array(triangles)


def surface_samples(triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Triangle index (S,) and barycentric weights (S, 3) of a grid on every triangle."""
    steps = [(a, b, STEPS - a - b) for a in range(STEPS + 1) for b in range(STEPS + 1 - a)]
    weights = np.array(steps, np.float64) / STEPS
    index = np.repeat(np.arange(len(triangles)), len(weights))
    return index, np.tile(weights, (len(triangles), 1))


def detect(folder: Path, cache: Path | None) -> dict[str, list[np.ndarray]]:
    """Person (sub-folder name) -> dlib landmarks (68, 2) of the largest face of each photo."""
    if cache is not None and cache.exists():
        found = json.loads(cache.read_text())
    else:
        from unmask.face import detect_faces
        from unmask.images import read_image

        found = {}
        for photo in sorted(folder.rglob("*.jpg")):
            faces = detect_faces(read_image(photo))
            if faces:
                found[str(photo.relative_to(folder))] = faces[0].landmarks.tolist()
        if cache is not None:
            cache.write_text(json.dumps(found))
    people: dict[str, list[np.ndarray]] = {}
    for name, points in sorted(found.items()):
        people.setdefault(Path(name).parts[-2], []).append(np.array(points))
    return people


def in_eye_frame(points: np.ndarray) -> np.ndarray:
    """Landmarks (68, 2) moved into their eye frame (eye centres at (-0.5, 0) and (0.5, 0))."""
    matrix = eye_frame(points)
    return points @ matrix[:, :2].T + matrix[:, 2]


def derive(shapes: list[np.ndarray], vertices: np.ndarray, triangles: np.ndarray):
    """The 68 surface points (68, 3), their triangles (68,) and weights (68, 3), from frontal-ish
    landmark sets (each (68, 2), in its eye frame)."""
    index, weights = surface_samples(triangles)
    samples = np.einsum("sk,skd->sd", weights, vertices[triangles[index]])
    points = _start(mean_shape(shapes), vertices)
    observed = np.array(shapes)  # (P, 68, 2)
    for _ in range(ROUNDS):
        poses = [fit_pose(shape, points) for shape in shapes]
        # sum over photos of |projected - landmark|^2, expanded (the landmarks' own term is the
        # same for every sample and left out)
        cost = np.zeros((68, len(samples)))
        for pose, shape in zip(poses, observed):
            projected = pose.project(samples)  # (S, 2)
            cost += (projected**2).sum(axis=1)[None, :] - 2 * shape @ projected.T
        best = cost.argmin(axis=1)
        points = samples[best]
    return points, index[best], weights[best]


def _start(mean: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """(68, 3) vertices under the 2-D mean shape (eye frame) matched to the mesh's frontal view:
    scaled by the jaw's width and the chin put on the mesh's lowest point, then closest vertices
    and a similarity refitted in turn."""
    from unmask.face.hidden import fit_similarity

    front = vertices[:, :2]
    scale = np.ptp(front[:, 0]) / (mean[16, 0] - mean[0, 0])
    chin = front[front[:, 1].argmax()]
    matrix = np.array([[scale, 0.0, chin[0] - scale * mean[8, 0]], [0.0, scale, chin[1] - scale * mean[8, 1]]])
    for _ in range(20):
        placed = mean @ matrix[:, :2].T + matrix[:, 2]
        nearest = ((placed[:, None, :] - front[None, :, :]) ** 2).sum(axis=-1).argmin(axis=1)
        matrix = fit_similarity(mean, front[nearest])
    return vertices[nearest]


def normalised(points: np.ndarray) -> np.ndarray:
    """The 68 points (68, 3) moved and scaled so the eye centres sit at x = -0.5 and 0.5, y = 0 and
    their mean depth at z = 0 (the mesh is symmetric and upright: no turn needed)."""
    eyes = np.array([points[36:42].mean(axis=0), points[42:48].mean(axis=0)])
    centre = eyes.mean(axis=0)
    return (points - centre) / np.linalg.norm(eyes[1] - eyes[0])


def hidden_errors(points: np.ndarray, shapes: list[np.ndarray]) -> dict[str, float]:
    """Mean errors (eye distances) on landmark sets `shapes` (each (68, 2), eye frame): all 68
    fitted; hidden from visible with the 3-D points; hidden from visible with the 2-D mean shape."""
    fitted, hidden3d, hidden2d = [], [], []
    for shape in shapes:
        fitted.append(np.linalg.norm(fit_pose(shape, points).project(points) - shape, axis=1).mean())
        placed = fit_pose(shape[VISIBLE], points[VISIBLE]).project(points[HIDDEN])
        hidden3d.append(np.linalg.norm(placed - shape[HIDDEN], axis=1).mean())
        estimate = estimate_hidden_landmarks(shape)
        hidden2d.append(np.linalg.norm(estimate[HIDDEN] - shape[HIDDEN], axis=1).mean())
    return {"all 68 fitted": float(np.mean(fitted)), "hidden, 3-D": float(np.mean(hidden3d)),
            "hidden, 2-D mean + yaw shift": float(np.mean(hidden2d))}


def frontal_with_mirrors(people: dict[str, list[np.ndarray]], names: list[str]) -> list[np.ndarray]:
    shapes = [in_eye_frame(s) for name in names for s in people[name] if abs(yaw(s)) <= FRONTAL]
    return shapes + [in_eye_frame(mirror_landmarks(s, 0.0)) for s in shapes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=ROOT.parent / "shared" / "data" / "people")
    parser.add_argument("--cache", type=Path, help="JSON file of detected landmarks (read if present, else written)")
    args = parser.parse_args()
    vertices, triangles = read_mesh(MESH)
    people = detect(args.folder, args.cache)
    names = sorted(people)
    folds = [names[i::FOLDS] for i in range(FOLDS)]
    scores = []
    for held in folds:
        points, _, _ = derive(frontal_with_mirrors(people, [n for n in names if n not in held]), vertices, triangles)
        test = [in_eye_frame(s) for name in held for s in people[name]]
        scores.append((len(test), hidden_errors(normalised(points), test)))
        print(f"held out {held}: {len(test)} photos, " + ", ".join(f"{k} {v:.4f}" for k, v in scores[-1][1].items()),
              file=sys.stderr)
    total = sum(n for n, _ in scores)
    pooled = {k: sum(n * s[k] for n, s in scores) / total for k in scores[0][1]}
    print("all folds, mean per photo: " + ", ".join(f"{k} {v:.4f}" for k, v in pooled.items()), file=sys.stderr)
    shapes = frontal_with_mirrors(people, names)
    points, index, weights = derive(shapes, vertices, triangles)
    points = normalised(points)
    rows = ",\n".join(f"        [{x:.4f}, {y:.4f}, {z:.4f}]" for x, y, z in points)
    sources = ",\n".join(f"    ({t}, ({', '.join(str(int(v)) for v in triangles[t])}), "
                         f"({', '.join(f'{w:.3f}' for w in b)}))" for t, b in zip(index, weights))
    summary = "; ".join(f"{k} {v:.3f}" for k, v in pooled.items())
    print(f'''"""3-D 68-landmark face shape (iBUG 300-W order) for `unmask.face.shape3d`: x to the image's right,
y down, z away from the camera; eye centres at x = -0.5 and 0.5, y = 0, their mean depth z = 0.

Derived numbers, not photos: points on MediaPipe's canonical face mesh (Apache-2.0,
scripts/data/mediapipe/), one per dlib landmark, chosen so that their weak-perspective projections
fit dlib's landmarks on {len(shapes) // 2} frontal-ish photos (|yaw| <= {FRONTAL}) of {len(names)} people of the
project's test set `people/` and their mirror images; written by scripts/derive_shape3d.py.
Leave-two-persons-out, mean error per photo in eye distances over {total} photos: {summary}.
"""

import numpy as np

MEAN_SHAPE3D = np.array(
    [
{rows},
    ],
    dtype=np.float64,
)
MEAN_SHAPE3D.setflags(write=False)

MESH_POINTS = (
{sources},
)
"""Per landmark: (mesh triangle, its three vertex indices of canonical_face_model.obj, 0-based,
barycentric weights) of the point in `MEAN_SHAPE3D`."""''')


if __name__ == "__main__":
    main()
