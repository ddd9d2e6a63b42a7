"""Train the face-mask region network (`unmask.region.net_model.RegionNet`) on the project's own composites.

Composites: procedural masks (`unmask.region.synthetic.render_mask`, every kind, half of them in
a colour of `random_colour`, 40 % with the top edge moved up to the nose bridge's top) and mask
templates (`unmask.region.templates`: RGBA pictures with anchor points, recoloured, half of those
with a print of `cloth_pattern`: plaid, specks, text, stripes...; all moved a little off their
anchors) on unmasked photos, plus unmasked photos with an empty region. Half of the masks are made
larger (`larger_reach`: the lower edge further under the chin and out beside the jaw, as real
masks reach down the neck) and 40 % darken towards their lower edge (`shaded`). The colours lean
dark (black, navy, dark hues: 40 %), as real photos do. 30 % are seen as a turned head (`turn`) and
25 % as a tight crop whose edge cuts the mask below the chin or beside a cheek (`cut_frame`).
45 % of the masked composites and 90 % of the unmasked ones carry one or two things that are not
mask (`unmask.region.negatives`: hair, a collar, a scarf, a beard, a hand, a microphone,
sunglasses; dark most of the time), behind the mask or in front of it (then out of its region).
Each is seen through a jittered face-frame crop (rotation, scale, shift; mirrored in half the
batches) with photometric changes (contrast, brightness, colour balance, grey, blur, JPEG, noise). Needs torch and onnx
(the dev extra); the package runs the written ONNX file with OpenCV's DNN module
(`unmask.region.net`). That file is also the checkpoint a fine-tuning run starts from (`--init`),
and it keeps the training note (the command's settings, and those of the run it started from).

    python scripts/train_region_net.py --faces ../shared/data/people ../shared/data/expressions \\
        ../shared/data/mfr2 --templates ../shared/data/mask-templates --out first.onnx --thin-weight 0
    python scripts/train_region_net.py --faces ... --templates ... --out second.onnx \\
        --init first.onnx --steps 1500 --lr 5e-4 --seed 1
    python scripts/train_region_net.py --faces ... --templates ... --out src/unmask/region/net.onnx \\
        --init second.onnx --steps 1500 --lr 3e-4 --seed 2 --thin-weight 8

The shipped network is these three runs (about 30 + 2 x 27 minutes on 2 cores) with
`--exclude people/p01 ... people/p05` (docs/region.md, step 5), made when the package ran the
network with numpy from an .npz of its weights; that file was written as the ONNX file unchanged
with `--export-from net.npz --out src/unmask/region/net.onnx` (probabilities within 1e-5 of the
numpy run's on 25 real faces: docs/region.md, "The network's runtime"). A folder holding a `labels.csv` (mfr2's: person, file, mask) gives only its `no-mask`
photos. `--exclude p01 p02` leaves out every photo whose path contains one of the words (to
evaluate on people the network never saw). The region's thin parts weigh more in the loss
(`THIN_WEIGHT`): ear loops are one or two pixels on the grid.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from unmask.errors import UnmaskError
from unmask.face import find_face
from unmask.region.frame import face_frame
from unmask.region.net import SIDE, crop_matrix, face_crop, network_input
from unmask.region.negatives import NEGATIVE_KINDS, OVER_MASK, paint_negative, skin_colour
from unmask.region.net_model import RegionNet, layer_names, read_onnx, write_onnx
from unmask.region.synthetic import MASK_KINDS, PATTERNS, chin_weight, cloth_pattern, render_mask
from unmask.region.templates import load_templates, put_template, recolour
from unmask.images import read_image

CANVAS_EYES = 70.0  # inter-ocular distance (px) of the stored face canvases: about twice the grid's
CANVAS_REACH = 3.2  # canvas half-size in inter-ocular distances around the point between the eyes


def face_photos(sources: list[Path], exclude: list[str]) -> list[Path]:
    """Every photo under `sources` (files or folders), without excluded or masked ones."""
    photos = []
    for source in sources:
        if source.is_file():
            photos.append(source)
            continue
        labels = source / "labels.csv"
        if labels.is_file():
            with open(labels, newline="") as handle:
                photos += [source / row["person"] / row["file"] for row in csv.DictReader(handle)
                           if row["mask"] == "no-mask"]
        else:
            photos += sorted(p for p in source.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    return [p for p in photos if not any(word in str(p) for word in exclude)]


def face_canvas(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """The photo's face, scaled to CANVAS_EYES and cut to the box CANVAS_REACH around the eyes,
    with its landmarks (68, 2) in the canvas; None when no single face is found."""
    try:
        image = read_image(path)
        landmarks = find_face(image).landmarks
    except UnmaskError as error:
        print(f"skipped: {error}", file=sys.stderr)
        return None
    frame = face_frame(landmarks)
    scale = CANVAS_EYES / frame.d
    half = CANVAS_REACH * frame.d
    x0, y0 = np.maximum(np.floor(frame.origin - half).astype(int), 0)
    x1, y1 = np.ceil(frame.origin + half).astype(int)
    box = image[y0:y1, x0:x1]
    size = (max(8, round(box.shape[1] * scale)), max(8, round(box.shape[0] * scale)))
    box = cv2.resize(box, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    return box, (landmarks - (x0, y0)) * scale


def jitter(rng: np.random.Generator) -> np.ndarray:
    """A 3x3 grid-space map: rotation up to about 10 deg, scale by about 10 %, shift by about 4 % of the side."""
    angle = np.deg2rad(rng.normal(0, 5))
    scale = np.exp(rng.normal(0, 0.06))
    centre = (SIDE - 1) / 2
    shift = rng.normal(0, 0.04 * SIDE, 2)
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    out = np.eye(3)
    out[:2, :2] = rotation
    out[:2, 2] = centre - rotation @ [centre, centre] + shift
    return out


def photometric(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Camera-like changes of a uint8 RGB crop: contrast, brightness, colour balance, grey, blur,
    noise and JPEG."""
    out = crop.astype(np.float32)
    out = (out - 128) * np.exp(rng.normal(0, 0.15)) + 128 + rng.normal(0, 15)
    out *= np.exp(rng.normal(0, 0.06, 3))
    if rng.random() < 0.08:
        out[:] = out.mean(axis=2, keepdims=True)
    if rng.random() < 0.25:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.3, 1.0))
    out += rng.normal(0, rng.uniform(0, 4), out.shape)
    out = np.clip(out, 0, 255).round().astype(np.uint8)
    if rng.random() < 0.3:
        ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(35, 90))])
        out = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    return out


def random_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    """A fabric colour: a dark one 40 % of the time (black or charcoal, navy, a dark hue: what
    real photos show most and the network missed), a grey level from black to white 25 %, else
    any hue."""
    draw = rng.random()
    if draw < 0.4:
        family = rng.integers(3)
        if family == 0:
            return tuple(int(v) for v in np.clip(rng.integers(8, 55) + rng.integers(-4, 5, 3), 0, 255))
        if family == 1:
            return int(rng.integers(10, 40)), int(rng.integers(15, 50)), int(rng.integers(45, 100))
        hsv = np.uint8([[[rng.integers(0, 180), rng.integers(60, 255), rng.integers(25, 80)]]])
    elif draw < 0.65:
        level = int(rng.integers(15, 250))
        return level, level, level
    else:
        hsv = np.uint8([[[rng.integers(0, 180), rng.integers(40, 255), rng.integers(40, 255)]]])
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


def printed(shape: tuple[int, int], base: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
    """A print on fabric of colour `base` over a template of `shape` (h, w): one of the patterns
    of `cloth_pattern` but solid, in a second colour (on dark fabric white or pale half the time,
    as white dots on black). float (h, w, 3) RGB 0-255."""
    if np.mean(base) < 80 and rng.random() < 0.5:
        second = np.full(3, rng.integers(190, 256), np.float32)
    else:
        second = np.asarray(random_colour(rng), np.float32)
    v, u = np.meshgrid(np.linspace(0, 1, shape[0]), np.linspace(0, 1, shape[1]), indexing="ij")
    weight = cloth_pattern(str(rng.choice(PATTERNS[1:])), u, v, rng)[..., None]
    return (1 - weight) * np.asarray(base, np.float32) + weight * second


def turn(image: np.ndarray, region: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The composite as if the head were turned: a perspective map about the nose that makes one
    side of the face 10 to 35 % narrower at the jaw and the other wider. Returns the image
    (H, W, 3), region (H, W) and landmarks (68, 2), all mapped."""
    frame = face_frame(landmarks)
    centre = frame.origin + 1.2 * frame.d * frame.down
    lean = rng.choice([-1, 1]) * rng.uniform(0.1, 0.35) / (2 * frame.d)
    to_centre = np.array([[1, 0, -centre[0]], [0, 1, -centre[1]], [0, 0, 1]])
    homography = np.linalg.inv(to_centre) @ np.array([[1, 0, 0], [0, 1, 0], [lean, 0, 1]]) @ to_centre
    size = image.shape[1], image.shape[0]
    image = cv2.warpPerspective(image, homography, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    region = cv2.warpPerspective(region.astype(np.float32), homography, size, flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REPLICATE) >= 0.5
    return image, region, cv2.perspectiveTransform(landmarks[None].astype(np.float64), homography)[0]


def cut_frame(image: np.ndarray, region: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The composite as a tight crop: the photo ends on a line from 0.4 inter-ocular distances
    above the chin to 0.15 below it (60 %), or beside a cheek, from 0.15 outside the jaw to 0.5
    inside it; the mask then mostly touches the frame. Returns the cut image, region and
    landmarks (moved with the cut)."""
    d = face_frame(landmarks).d
    if rng.random() < 0.6:
        y = int(round(landmarks[8, 1] + rng.uniform(-0.4, 0.15) * d))
        y = min(max(y, 8), image.shape[0])
        return image[:y], region[:y], landmarks
    if rng.random() < 0.5:
        x = int(round(landmarks[2, 0] + rng.uniform(-0.15, 0.5) * d))
        x = min(max(x, 0), image.shape[1] - 8)
        return image[:, x:], region[:, x:], landmarks - (x, 0)
    x = int(round(landmarks[14, 0] - rng.uniform(-0.15, 0.5) * d))
    x = min(max(x, 8), image.shape[1])
    return image[:, :x], region[:, :x], landmarks


NEGATIVE_SHARE = 0.45
"""Share of masked composites with things beside the mask that are not mask (hair, collars, hands...);
the photos without a mask get them twice as often, as the cases where only they are dark."""


def negatives_for(rng: np.random.Generator, empty: bool) -> list[str]:
    """The kinds of `NEGATIVE_KINDS` to paint on one composite: none, one, or two different ones."""
    if rng.random() >= NEGATIVE_SHARE * (2 if empty else 1):
        return []
    return [str(k) for k in rng.choice(NEGATIVE_KINDS, int(rng.integers(1, 3)), replace=False)]


LARGER_SHARE = 0.5
"""Share of masks made larger (`larger_reach`): real masks reach from just under the chin to far
down the neck, the templates and procedural outlines only about a tenth of the bridge-to-chin
length below the chin."""
LARGER_REACH = 0.4
"""Largest extra reach under the chin, a share of the bridge-to-chin length (beside the jaw half of it)."""
SHADE_SHARE = 0.4
"""Share of composites whose mask darkens towards its lower edge (`shaded`), as under a chin."""


def larger_reach(rng: np.random.Generator) -> float:
    """How much farther than drawn a mask's lower edge reaches (`render_mask`'s `reach`): 0, or
    up to `LARGER_REACH` (`LARGER_SHARE` of the time)."""
    return float(rng.uniform(0, LARGER_REACH)) if rng.random() < LARGER_SHARE else 0.0


def lower_edge_shift(landmarks: np.ndarray, anchors: np.ndarray, reach: float) -> np.ndarray:
    """Extra shift (K, 2), units of d, of a template's anchors on the landmarks `anchors` (K,)
    of the face's 68 `landmarks` (68, 2): those on the jaw move `reach` (a share of the
    bridge-to-chin length) down the face at the chin and half of it outwards, as `render_mask`'s
    `reach` moves a procedural mask's lower edge."""
    frame = face_frame(landmarks)
    length = float(np.linalg.norm(landmarks[8] - landmarks[27])) / frame.d
    centre = landmarks[27:36].mean(axis=0)
    shift = np.zeros((len(anchors), 2))
    for k, index in enumerate(np.asarray(anchors)):
        if index > 16:
            continue
        outward = landmarks[index] - centre
        outward /= np.linalg.norm(outward) + 1e-9
        shift[k] = reach * length * (chin_weight(index) * frame.down + outward / 2)
    return shift


def shaded(image: np.ndarray, region: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`image` (uint8 RGB (H, W, 3)) with the mask's pixels (`region` bool (H, W)) darkened from
    none at its top to 20-60 % at its lower edge, down the face (the face's 68 `landmarks`)."""
    if not region.any():
        return image
    frame = face_frame(landmarks)
    down = frame.grid(region.shape)[..., 1]
    top, bottom = down[region].min(), down[region].max()
    depth = np.clip((down - top) / max(bottom - top, 1e-6), 0, 1) ** 1.5 * rng.uniform(0.2, 0.6)
    out = image.astype(np.float32)
    out[region] *= 1 - depth[region, None]
    return out.round().astype(np.uint8)


def sample(canvas: np.ndarray, landmarks: np.ndarray, templates, rng: np.random.Generator
           ) -> tuple[np.ndarray, np.ndarray]:
    """One training pair: crop uint8 (SIDE, SIDE, 3) and region bool (SIDE, SIDE). Procedural
    masks in a random colour half the time, their top edge moved over the nose bridge 40 % of
    the time (respirators sit up to landmark 27); templates recoloured (a print half of those
    times); either made larger half of the time and shaded towards the lower edge 40 %; then a
    turned head 30 % and a tight crop 25 % of the time. Things that are not mask
    (`negatives_for`) are painted under the mask or in front of it, their pixels out of the region."""
    beside = negatives_for(rng, empty := rng.random() < 0.12)
    skin = skin_colour(canvas, landmarks) if "hand" in beside else None  # before the mask covers the cheeks
    for kind in beside:
        if kind not in OVER_MASK:
            canvas, _ = paint_negative(canvas, landmarks, kind, rng)
    if empty:
        masked, region = canvas, np.zeros(canvas.shape[:2], bool)
    elif rng.random() < 0.43:
        colour = random_colour(rng) if rng.random() < 0.5 else None
        apex = rng.uniform(-0.7, 0.45) if rng.random() < 0.4 else None
        masked, region = render_mask(canvas, landmarks, str(rng.choice(MASK_KINDS)), rng, colour, apex,
                                     reach=larger_reach(rng))
    else:
        template = templates[rng.integers(len(templates))]
        if rng.random() < (0.75 if template.name.startswith("surgical") else 0.5):
            colour = random_colour(rng)
            if rng.random() < 0.5:
                colour = printed(template.rgba.shape[:2], colour, rng)
            template = replace(template, rgba=recolour(template.rgba, colour))
        shift = rng.normal(0, 0.03, (len(template.landmarks), 2)) + rng.normal(0, [0.03, 0.07])
        shift += lower_edge_shift(landmarks, template.landmarks, larger_reach(rng))
        masked, region = put_template(canvas, landmarks, template, shift)
    for kind in beside:
        if kind in OVER_MASK:
            colour = skin if kind == "hand" and rng.random() < 0.8 else None
            masked, covered = paint_negative(masked, landmarks, kind, rng, colour)
            region &= ~covered
    if rng.random() < SHADE_SHARE:
        masked = shaded(masked, region, landmarks, rng)
    if rng.random() < 0.3:
        masked, region, landmarks = turn(masked, region, landmarks, rng)
    if rng.random() < 0.25:
        masked, region, landmarks = cut_frame(masked, region, landmarks, rng)
    matrix = jitter(rng)[:2] @ np.vstack([crop_matrix(landmarks), [0, 0, 1]])
    crop = photometric(face_crop(masked, matrix), rng)
    # beyond the photo's edge the crop repeats its last pixels (face_crop): so does the region
    grid = cv2.warpAffine(region.astype(np.float32), matrix, (SIDE, SIDE), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    return crop, grid >= 0.5


def to_input(crops: np.ndarray) -> torch.Tensor:
    """uint8 crops (N, SIDE, SIDE, 3) -> the network's float input (N, INPUTS, SIDE, SIDE)."""
    return torch.from_numpy(np.stack([network_input(crop) for crop in crops]))


def batches(crops: np.ndarray, targets: np.ndarray, size: int, rng: np.random.Generator):
    """Endless random batches (input, target float (N, SIDE, SIDE)), half of them mirrored."""
    while True:
        pick = rng.integers(len(crops), size=size)
        x, target = to_input(crops[pick]), torch.from_numpy(targets[pick]).float()
        if rng.random() < 0.5:
            x, target = x.flip(-1), target.flip(-1)
            x[:, 3] = -x[:, 3]  # the frame's x channel, mirrored back to increasing
        yield x, target


THIN_WEIGHT = 4.0
"""Extra cross-entropy weight of the region's thin parts (ear loops, the tips of printed shapes):
one or two pixels on the grid, they are a small share of any image's loss but what the cut misses."""


def thin_parts(target: torch.Tensor) -> torch.Tensor:
    """The pixels of a region (float (N, SIDE, SIDE) in {0, 1}) that an opening by a 5x5 square
    removes: parts under about 5 px (0.14 d) wide."""
    eroded = -F.max_pool2d(-target[:, None], 5, stride=1, padding=2)
    return (target - F.max_pool2d(eroded, 5, stride=1, padding=2)[:, 0]).clamp(min=0)


def loss_of(logits: torch.Tensor, target: torch.Tensor, thin_weight: float = THIN_WEIGHT) -> torch.Tensor:
    """Cross-entropy with the mask's pixels weighted twice (fabric left costs more than skin
    taken) and its thin parts `thin_weight` more, plus a soft Dice term per image."""
    weight = 1 + target + thin_weight * thin_parts(target)
    bce = F.binary_cross_entropy_with_logits(logits, target, weight=weight)
    p = torch.sigmoid(logits)
    dice = 1 - (2 * (p * target).sum((1, 2)) + 1) / (p.sum((1, 2)) + target.sum((1, 2)) + 1)
    return bce + 0.5 * dice.mean()


def scores(model: RegionNet, crops: np.ndarray, targets: np.ndarray) -> tuple[float, float]:
    """(median IoU, median share of the true region missed) at probability 0.5, masked crops only."""
    model.eval()
    with torch.no_grad():
        found = np.concatenate([(model(to_input(crops[i:i + 64]))[:, 0] > 0).numpy() for i in range(0, len(crops), 64)])
    model.train()
    masked = targets.any(axis=(1, 2))
    f, t = found[masked], targets[masked]
    iou = (f & t).sum((1, 2)) / (f | t).sum((1, 2))
    missed = (t & ~f).sum((1, 2)) / t.sum((1, 2))
    return float(np.median(iou)), float(np.median(missed))


def make_set(faces, templates, count: int, seed: np.random.SeedSequence, workers: int = 1
             ) -> tuple[np.ndarray, np.ndarray]:
    """`count` composites on faces drawn at random: crops uint8 (count, SIDE, SIDE, 3), regions bool
    (count, SIDE, SIDE). Made in `workers` processes, each from its own child of `seed` (a composite
    costs about 0.3 s, most of it `render_mask`): a new `SeedSequence` of the same entropy and the same
    workers give the same set (`spawn` advances the sequence it is called on)."""
    parts = [(faces, templates, count // workers + (k < count % workers), child)
             for k, child in enumerate(seed.spawn(workers))]
    if workers == 1:
        made = [_make_part(parts[0])]
    else:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:  # spawn: no forked OpenCV or torch threads
            made = pool.map(_make_part, parts)
    return np.concatenate([m[0] for m in made]), np.concatenate([m[1] for m in made])


def _make_part(part) -> tuple[np.ndarray, np.ndarray]:
    """One process's share of `make_set`: (faces, templates, count, seed) -> (crops, regions)."""
    faces, templates, count, seed = part
    rng = np.random.default_rng(seed)
    crops = np.empty((count, SIDE, SIDE, 3), np.uint8)
    targets = np.empty((count, SIDE, SIDE), bool)
    for i in range(count):
        canvas, landmarks = faces[rng.integers(len(faces))]
        crops[i], targets[i] = sample(canvas, landmarks, templates, rng)
    return crops, targets


def from_npz(path: Path) -> tuple[RegionNet, str]:
    """The network and training note of a weights file of the numpy-run versions of the package
    (before 2026-12: float arrays `NAME.w`, `NAME.b` of `layer_names` and a `training` string in
    an .npz, read without pickles)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            state = {f"convs.{name}.{'weight' if part == 'w' else 'bias'}": torch.from_numpy(
                data[f"{name}.{part}"].astype(np.float32)) for name, _, _ in layer_names() for part in "wb"}
            note = str(data["training"]) if "training" in data.files else "unknown"
        model = RegionNet()
        model.load_state_dict(state)
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise UnmaskError(f"{path}: not a numpy-era region network weights file ({error})") from None
    return model, note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=Path, nargs="+", help="unmasked photos or folders")
    parser.add_argument("--templates", type=Path, help="mask templates with anchors.csv")
    parser.add_argument("--out", type=Path, required=True, help="network file to write (.onnx)")
    parser.add_argument("--exclude", nargs="*", default=[], help="leave out photos whose path holds a word")
    parser.add_argument("--samples", type=int, default=12000, help="composites made before training")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=24)
    parser.add_argument("--validation", type=int, default=400, help="composites of held-out faces to score")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="processes making the composites")
    parser.add_argument("--init", type=Path, help="network file (.onnx) to start from instead of random weights")
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
    parser.add_argument("--thin-weight", type=float, default=THIN_WEIGHT, help="extra loss weight of thin parts")
    parser.add_argument("--export-from", type=Path, metavar="NPZ",
                        help="no training: write the weights of a numpy-era .npz file as the network file")
    args = parser.parse_args()
    if not args.export_from and not (args.faces and args.templates):
        parser.error("--faces and --templates are needed to train")
    try:
        if args.export_from:
            model, note = from_npz(args.export_from)
            print("wrote", write_onnx(model, args.out, f"{note}; written as ONNX from {args.export_from.name}"))
        else:
            train(args)
    except UnmaskError as error:
        sys.exit(str(error))


def train(args: argparse.Namespace) -> None:
    """Train as the command line says and write the network file."""
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model, before = read_onnx(args.init) if args.init else (RegionNet(), "")

    started = time.monotonic()
    photos = face_photos(args.faces, args.exclude)
    faces = [c for c in map(face_canvas, photos) if c is not None]
    templates = load_templates(args.templates)
    # the validation set uses faces of its own: every 8th photo
    held = faces[::8]
    train_faces = [f for i, f in enumerate(faces) if i % 8]
    train_seed, validation_seed = np.random.SeedSequence(args.seed).spawn(2)
    crops, targets = make_set(train_faces, templates, args.samples, train_seed, args.workers)
    val_crops, val_targets = make_set(held, templates, args.validation, validation_seed, args.workers)
    print(f"{len(faces)} faces of {len(photos)} photos, {len(templates)} templates, {args.samples} composites "
          f"in {time.monotonic() - started:.0f} s", flush=True)

    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=args.lr, total_steps=args.steps, pct_start=0.1)
    stream = batches(crops, targets, args.batch, rng)
    running = 0.0
    for step in range(1, args.steps + 1):
        x, target = next(stream)
        loss = loss_of(model(x)[:, 0], target, args.thin_weight)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
        if step % 250 == 0 or step == args.steps:
            iou, missed = scores(model, val_crops, val_targets)
            print(f"step {step}: loss {running:.3f}, held-out faces IoU {iou:.3f}, missed {missed:.3f} "
                  f"({time.monotonic() - started:.0f} s)", flush=True)
    note = (f"faces: {len(faces)} photos from {', '.join(p.name for p in args.faces)}; excluded {args.exclude}; "
            f"{args.samples} composites, {args.steps} steps of {args.batch} at lr {args.lr}, thin parts weighted "
            f"{args.thin_weight} more, seed {args.seed}")
    if args.init:
        note += f"; started from {args.init.name} ({before})"
    print("wrote", write_onnx(model, args.out, note))


if __name__ == "__main__":
    main()
