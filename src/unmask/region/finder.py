"""Where is the face mask? The mask region of a photo, from its landmarks, colours and edges.

The landmarks of a masked face are reliable only above the nose tip, so the prior is built from
the eyes, brows and nose bridge (a face frame: eye line, inter-ocular distance) plus the jaw
points the predictor fits to the mask's outline. GrabCut, seeded with that prior and with skin
samples above the eyes as certain background, finds the boundary from the photo's colours and
edges; the region may reach up to the eye openings (nose wires, white upper borders), and the
eyes are checked against BlazeFace's when a mask pulls dlib's down. Thin fabric-coloured pieces
and thin salient lines beside the face that start at the mask (ear loops, straps) are added, and
a small margin; then the pixels a small segmentation network (`unmask.region.net`) marks
as mask and that are connected to the region (printed shapes over the eyes, loops the lines
missed). A photo is reported as unmasked when the lower face looks like skin with lips and the
network does not claim it (`unmask.region.evidence`); when only the network sees the mask, the
region is the network's own. Areas are placed in the face frame of `unmask.region.frame`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask.errors import UnmaskError
from unmask.region.evidence import mask_evidence, network_cue, skin_claimed, with_network
from unmask.region.frame import FaceFrame, face_frame, polygon_mask
from unmask.region.loops import line_maps, with_loops
from unmask.region.morphology import attached, disc, fill_holes, grow, touching
from unmask.region.net import grid_frame, mask_probability, resized_box_to_photo
from unmask.region.upper import eye_centres, pulled_down, upper_face_on_eyes

_WORK_FACE_WIDTH = 160
"""GrabCut runs on a copy where the inter-ocular distance is scaled to about 0.4 x this (px)."""


@dataclass
class MaskRegion:
    """The face-mask region of one photo.

    mask: bool (H, W) at the photo's own size, True = face mask (all False when not `found`).
    found: False when no region was found: no mask seen (`score` below the threshold) or a mask
    seen whose outline was not found (`not_found_message` tells the user which).
    score: evidence for a mask in [0, 1] (how unlike skin-with-lips the lower face is).
    coverage: fraction of the nose-tip-to-chin area the region covers, in [0, 1].
    above_eyes: fraction of the region's pixels above the lower eyelids (should be about 0).
    See `region_checks`.
    landmarks: the (68, 2) landmarks the region was found with: the given ones, or with the upper
    face moved onto BlazeFace's eyes when a mask pulled dlib's down (`face.upper`); use them for
    the face from here on.
    """

    mask: np.ndarray
    found: bool
    score: float
    coverage: float
    above_eyes: float
    landmarks: np.ndarray


MIN_SCORE = 0.5
"""Mask evidence below which `find_mask_region` reports the face as unmasked (its default)."""


def find_mask_region(image: np.ndarray, face_or_landmarks, min_score: float = MIN_SCORE) -> MaskRegion:
    """Find the face-mask region of one face.

    image: uint8 RGB (H, W, 3). face_or_landmarks: a `unmask.face.Face` or float (68, 2) (x, y)
    landmarks in photo pixels. `min_score` is the mask-evidence threshold below which the photo
    is reported as unmasked. Returns a `MaskRegion` whose `mask` is bool (H, W).
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 RGB image (H, W, 3), got {image.dtype} {image.shape}")
    landmarks = np.asarray(getattr(face_or_landmarks, "landmarks", face_or_landmarks), dtype=np.float64)
    if landmarks.shape != (68, 2):
        raise ValueError(f"expected (68, 2) landmarks, got {landmarks.shape}")
    work = work_region(image, landmarks, min_score)
    full = to_photo(work, image.shape[:2])
    coverage, above = region_checks(full, work.landmarks)
    return MaskRegion(mask=full, found=bool(full.any()), score=work.score, coverage=coverage, above_eyes=above,
                      landmarks=work.landmarks)


@dataclass
class WorkRegion:
    """The region as `find_mask_region` finds it on its work crop, before it is brought to the
    photo (`to_photo`). segment: bool (h, w), the region on the photo's `box` (x0, y0, x1, y1)
    resized to (w, h) (all False when the evidence `score` is below the threshold); `landmarks`
    (68, 2) in photo pixels, as in `MaskRegion`; `cues` the colour evidence (`mask_evidence`) and
    the network's (`network_cue`) that `score` combines (`with_network`)."""

    segment: np.ndarray
    box: tuple[int, int, int, int]
    score: float
    landmarks: np.ndarray
    cues: tuple[float, float] = (float("nan"), float("nan"))


def work_region(image: np.ndarray, landmarks: np.ndarray, min_score: float = MIN_SCORE,
                margin: float | None = None, rim: float | None = None) -> WorkRegion:
    """`find_mask_region`'s region on its work crop, for checked arguments (uint8 RGB (H, W, 3),
    float (68, 2)); `margin` and `rim` (units of d) in place of `_MARGIN` and `_RIM`, for
    `scripts/fit_region_margin.py`."""
    return _find(image, landmarks, min_score, True, _MARGIN if margin is None else margin,
                 _RIM if rim is None else rim)


def to_photo(work: WorkRegion, shape: tuple[int, int], threshold: float | None = None) -> np.ndarray:
    """The work crop's region at the photo's size `shape` (H, W), bool: the segment resized
    bilinearly, pixels from `threshold` (in (0, 1); default `_UPSAMPLE`) on."""
    height, width = shape
    full = np.zeros((height, width), bool)
    if work.segment.any():
        x0, y0, x1, y1 = work.box
        up = cv2.resize(work.segment.astype(np.float32), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        full[y0:y1, x0:x1] = up >= (_UPSAMPLE if threshold is None else threshold)
    return full


def _find(image: np.ndarray, landmarks: np.ndarray, min_score: float, check_eyes: bool, margin: float,
          rim: float) -> WorkRegion:
    """`work_region`; when `check_eyes` and dlib's eye openings lie on the mask's colour, once
    more with the upper face checked against BlazeFace's eyes. `margin`, `rim`: units of d."""
    height, width = image.shape[:2]
    frame = face_frame(landmarks)

    # work on a crop around the lower face, scaled so the face has a fixed size
    scale = min(4.0, 0.4 * _WORK_FACE_WIDTH / frame.d)
    corners = frame.to_photo(np.array([[-2.2, -1.2], [2.2, -1.2], [-2.2, 3.4], [2.2, 3.4]]))
    x0, y0 = np.floor(corners.min(axis=0)).astype(int)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    crop = image[y0:y1, x0:x1]
    size = (max(8, round((x1 - x0) * scale)), max(8, round((y1 - y0) * scale)))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    local = FaceFrame((frame.origin - (x0, y0)) * scale, frame.right, frame.down, frame.d * scale)
    points = (landmarks - (x0, y0)) * scale

    seeds = _prior(local, points, small.shape[:2], below_nose=False, covered=(False, False))
    segment, fabric = _grabcut(small, seeds)
    if check_eyes and _eyes_on_fabric(fabric, points):
        moved = _eyes_checked(image, landmarks)
        if moved is not landmarks:
            return _find(image, moved, min_score, False, margin, rim)
    colour = mask_evidence(small, local, points, fabric)
    probability, matrix = mask_probability(image, landmarks)
    cue = network_cue(probability, grid_frame())
    score = with_network(colour, cue)
    below_nose = skin_claimed(fabric, points) > _SKIN_CLAIMED
    covered = (False, False) if below_nose else _covered_eyes(small, fabric, points)
    if below_nose or any(covered):
        # the mask's colour model learnt skin: the nose is not covered (a mask pulled down), so
        # the probable mask starts under the nose; or an eye opening of dlib's is plain fabric
        # (the mask's upper edge dragged the eye points down onto it): cut again
        seeds = _prior(local, points, small.shape[:2], below_nose, covered)
        segment, fabric = _grabcut(small, seeds)
    wider = _widened(seeds, segment, local)
    if wider is not None:
        seeds = wider
        segment, fabric = _grabcut(small, seeds)
    lines, weak = line_maps(small, local)
    segment = _clean(segment, fabric, lines, weak, seeds, local, margin)
    segment |= _under_edge_in_eyes(small, segment, fabric, points, local.d, margin)
    if score < min_score:
        return WorkRegion(np.zeros_like(segment), (x0, y0, x1, y1), float(score), landmarks, (colour, cue))
    # the network's pieces only matter for a region that will be kept
    probability = cv2.warpAffine(probability, matrix @ resized_box_to_photo((x0, y0, x1, y1), segment.shape),
                                 segment.shape[::-1], flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    if colour < min_score:
        # only the network sees a mask: the colour models did not tell the lower face from the
        # skin, so their cut is not the mask's outline (the neck, the hair); the network's is
        segment = _network_region(probability, seeds, local, margin)
    else:
        segment |= _network_pieces(probability, segment, points, weak, local, margin, rim)
    return WorkRegion(segment, (x0, y0, x1, y1), float(score), landmarks, (colour, cue))


def not_found_message(found: MaskRegion, min_score: float = MIN_SCORE) -> str:
    """Why `found` (from `find_mask_region(..., min_score)`) holds no region, in one line for the
    user: no mask seen (evidence below `min_score`), or a mask seen whose outline was not found."""
    if found.score >= min_score:
        return (f"a face mask is seen on this face (mask evidence {found.score:.2f}) but its outline could "
                "not be found: paint the region on the web page or give it as a mask image with --mask")
    return (f"no face mask found on this face (mask evidence {found.score:.2f}, below {min_score:.2f}): "
            "if it is not masked there is nothing to complete; if it is, paint the region on the web "
            "page or give it as a mask image with --mask")


def region_checks(mask: np.ndarray, landmarks: np.ndarray) -> tuple[float, float]:
    """Sanity of a mask region (bool (H, W)) for a face with landmarks (68, 2).

    Returns (coverage, above_eyes): the fraction of the nose-tip-to-chin area (under the nose
    tip, above the chin, about mouth-wide; the part inside the photo) that the region covers,
    and the fraction of the region's pixels that lie above the lower eyelids. Both in [0, 1].
    Counted on every k-th pixel, k such that the eyes stay at least 32 px apart (a 12 MP photo's
    region has a million pixels; the fractions do not need them all).
    """
    step = max(1, int(face_frame(landmarks).d // 32))
    mask, landmarks = mask[::step, ::step], (np.asarray(landmarks, np.float64) + 0.5) / step - 0.5
    frame = face_frame(landmarks)
    nose = float(np.clip(frame.to_frame(landmarks[33])[0, 1], 0.6, 1.2)) + 0.08
    chin = float(np.clip(frame.to_frame(landmarks[8])[0, 1], nose + 0.4, 2.2)) - 0.12
    area = polygon_mask(frame, np.array([[-0.45, nose], [0.45, nose], [0.25, chin], [-0.25, chin]]), mask.shape)
    coverage = float((mask & area).sum() / max(1, area.sum()))
    eye_line = frame.to_frame(landmarks[[40, 41, 46, 47]])[:, 1].max()
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return coverage, 0.0
    depth = frame.to_frame(np.stack([xs, ys], axis=1).astype(np.float64))[:, 1]
    return coverage, float((depth < eye_line).mean())


def load_user_mask(path, shape: tuple[int, int]) -> np.ndarray:
    """A user's own mask image file (white = mask region) as bool (H, W) for a photo of `shape`
    (H, W); see `mask_from_image`."""
    from unmask.images import read_image

    return mask_from_image(read_image(path), shape, path)


def mask_from_image(image: np.ndarray, shape: tuple[int, int], path) -> np.ndarray:
    """A decoded mask image, uint8 (h, w, 3) (white = mask region), as bool (H, W) for a photo of
    `shape` (H, W). An image of a different size is resized (nearest neighbour) when it has the
    same aspect ratio. Raises `UnmaskError` naming `path` when its aspect differs or it marks no
    pixel.
    """
    height, width = int(shape[0]), int(shape[1])
    h, w = image.shape[:2]
    if (h, w) != (height, width):
        if abs(w / h - width / height) > 0.01 * width / height:
            raise UnmaskError(
                f"mask image is {w}x{h} but the photo is {width}x{height}: the aspect ratios differ, "
                "so it cannot be the photo's mask",
                path,
            )
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_NEAREST)
    mask = image.max(axis=2) >= 128
    if not mask.any():
        raise UnmaskError("mask image marks no region (white = face mask; it is all black)", path)
    return mask


_EYES_ON_FABRIC = 0.5
"""dlib's eyes are suspect when the mask's colour model claims this share of their openings."""


def _eyes_on_fabric(fabric: np.ndarray, points: np.ndarray) -> bool:
    """Whether the mask's colour model (`fabric`, bool (h, w)) claims at least `_EYES_ON_FABRIC`
    of the eye openings of the landmarks `points` (68, 2) (same pixels): the eye points were
    fitted on the mask's upper edge. Sunglasses and dark eyes under a light mask are not."""
    eyes = np.logical_or(*_eye_openings(points, fabric.shape))
    return bool(eyes.any() and fabric[eyes].mean() >= _EYES_ON_FABRIC)


def _eye_openings(points: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The left and right eye openings (polygons of points 36-41, 42-47 of the landmarks `points`
    (68, 2)) as bool masks of `shape` (h, w)."""
    openings = []
    for eye in (points[36:42], points[42:48]):
        opening = np.zeros(shape, np.uint8)
        cv2.fillPoly(opening, [np.round(eye).astype(np.int32)], 1)
        openings.append(opening.astype(bool))
    return openings[0], openings[1]


_COVERED_SPREAD = 10.0
"""Largest spread (std of CIELAB L, 0..255) of an eye opening that is plain fabric: a seen
eye's white and iris spread it (measured on template cases of seeds 5 and 9: 14-65 for seen
eyes, the drawn masks' plain black at most 1.4)."""


def _covered_eyes(image: np.ndarray, fabric: np.ndarray, points: np.ndarray) -> tuple[bool, bool]:
    """Per eye of the landmarks `points` (68, 2) (left, right in the image): whether its opening
    lies on the mask, plain fabric: the mask's colour model (`fabric`, bool (h, w)) claims at
    least `_EYES_ON_FABRIC` of it and its lightness spreads at most `_COVERED_SPREAD` in the
    uint8 RGB `image` (h, w, 3)."""
    lightness = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float64)
    covered = []
    for opening in _eye_openings(points, fabric.shape):
        covered.append(bool(opening.sum() >= 3 and fabric[opening].mean() >= _EYES_ON_FABRIC
                            and lightness[opening].std() <= _COVERED_SPREAD))
    return covered[0], covered[1]


def _under_edge_in_eyes(image: np.ndarray, segment: np.ndarray, fabric: np.ndarray, points: np.ndarray,
                        d: float, margin: float) -> np.ndarray:
    """The mask inside dlib's eye openings (which the prior keeps out of the cut) when its upper
    edge runs over the lower eyelids, bool (h, w). In each column of an opening, the run of
    pixels that the mask's colour model claims (`fabric`, bool (h, w)) and that lie within
    `_EDGE_COLOUR` of the cut's colour around the opening, from the cut (`segment`, bool (h, w))
    upwards; a straight edge is fitted to the runs' tops, twice refitted to the
    tops on or under it (a run goes on up through a dark iris on a dark mask, through the white
    of the eye on a white one: the runs that stop first show the edge), and the claimed pixels
    under it are taken, with the region's `margin` (units of the eye distance `d`, pixels).
    `image`: the uint8 RGB crop (h, w, 3); `points`: the landmarks (68, 2) in its pixels."""
    out = np.zeros(segment.shape, bool)
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    grid_y, grid_x = np.mgrid[: segment.shape[0], : segment.shape[1]]
    for opening in _eye_openings(points, segment.shape):
        # the cut within 3 px of the opening (0.05 d at the working scale): the mask's edge fabric
        under = segment & ~opening & cv2.dilate(opening.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
        if not under.any():
            continue
        like = fabric & (np.linalg.norm(lab - np.median(lab[under], axis=0), axis=2) <= _EDGE_COLOUR)
        tops = []
        for x in np.nonzero(opening.any(axis=0))[0]:
            rows = np.nonzero(opening[:, x])[0]
            y = rows.max() + 1
            if y >= segment.shape[0] or not segment[y, x]:
                continue
            while y - 1 >= rows.min() and like[y - 1, x]:
                y -= 1
            if y <= rows.max():
                tops.append((x, y))
        if len(tops) < _EDGE_COLUMNS:
            continue
        xs, ys = np.array(tops, np.float64).T
        keep = np.ones(len(xs), bool)
        for _ in range(3):
            slope, offset = np.polyfit(xs[keep], ys[keep], 1) if np.ptp(xs[keep]) > 0 else (0.0, ys[keep].mean())
            keep = keep & (ys >= slope * xs + offset - 1e-6)
        edge = slope * grid_x + offset
        taken = np.zeros(segment.shape, bool)
        for piece in attached(opening & like & (grid_y >= edge - 0.5), segment):
            taken |= piece
        # the margin the rest of the region has, up to that much over the edge (its blended rim)
        reach = d * margin
        grown = _grown(taken, reach)
        out |= taken | (grown & opening & (grid_y >= edge - reach))
    return out


_EDGE_COLOUR = 12.0
"""Largest CIELAB distance (L 0..255) of a taken pixel from the median colour of the cut around
the opening: the fabric of the mask's edge, not the eye's white, iris or lid skin that the
mask's colour model may also claim."""
_EDGE_COLUMNS = 4
"""Least number of an eye opening's columns where the mask reaches into it from below."""


def _eyes_checked(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The landmarks (68, 2) with the upper face moved onto BlazeFace's eyes when a mask reaching
    the lower eyelids pulled dlib's down (`face.upper`); unchanged otherwise or without BlazeFace.
    BlazeFace looks again on a window around the face (its eyes there are closer to the truth
    than the detection's on masked faces: template cases of seeds 5 and 9, mean error 6.9 against
    8.0 % of the eye distance). image: uint8 RGB (H, W, 3)."""
    from unmask.face import blazeface

    frame = face_frame(landmarks)
    dlib_eyes = eye_centres(landmarks)
    x0, y0 = landmarks.min(axis=0) - frame.d
    x1, y1 = landmarks.max(axis=0) + frame.d
    near = [d.eyes for d in blazeface.detect_in(image, (x0, y0, x1, y1)) if np.abs(d.eyes - dlib_eyes).max() < frame.d]
    eyes = min(near, key=lambda e: float(np.abs(e - dlib_eyes).max()), default=None)
    if eyes is None or not pulled_down(landmarks, eyes):
        return landmarks
    return upper_face_on_eyes(landmarks, eyes)


_TOP = -0.3
"""Frame y above which nothing is mask (between the brows and the eye centres at y = 0)."""
_EAR_TOP = -0.6
_TEMPLE_X = 0.95
"""Beside the eyes (|x| > _TEMPLE_X) ear loops may reach up to _EAR_TOP."""
_BRIDGE = np.array([[-0.1, -0.3], [0.1, -0.3], [0.1, -0.12], [-0.1, -0.12]])
"""Skin sample on the upper nose bridge, above where masks reach."""
_SKIN_CLAIMED = 0.3
"""Above this share of skin samples claimed by the mask colour model, the nose is taken as
uncovered (measured: under 0.25 for 90 % of masks covering the nose)."""
_WIDE = 0.6
"""How far (units of d) beyond the fitted jaw line the region may reach (side bulge, loops)."""

_MARGIN = 0.016
"""Margin (units of d; 1 px of the work crop) added around the cut region and the network's
pieces: the cut runs on a small copy and fabric edges blend into the skin. With `_UPSAMPLE`
fitted by `scripts/fit_region_margin.py` (lowest median extra area among the settings that leave
no more mask beyond the fill's reach than 0.03 and 0.5 did; docs/region.md, "Seventh pass")."""
_UPSAMPLE = 0.8
"""The work crop's region, resized bilinearly to the photo, keeps the pixels from this value on
(0.5 = the middle of the edge; 0.8 about a third of a work pixel inside it). Fitted with
`_MARGIN`."""


def _grown(mask: np.ndarray, radius: float) -> np.ndarray:
    """A bool mask grown by a disc of `radius` px; unchanged below half a pixel."""
    return grow(mask, radius) if radius >= 0.5 else mask.copy()


def _prior(frame: FaceFrame, points: np.ndarray, shape: tuple[int, int], below_nose: bool,
           covered: tuple[bool, bool]) -> np.ndarray:
    """GrabCut seed labels (h, w) uint8 from the landmark geometry; the probable mask starts
    under the eyes, or under the nose tip when `below_nose`. The eye openings are certain
    background, except those `covered` (left, right: on the mask) which are probable."""
    seeds = np.full(shape, cv2.GC_BGD, np.uint8)
    jaw = frame.to_frame(points[0:17])
    # the jaw the predictor fits is trusted only within bounds of a plausible face
    jaw[:, 0] = np.clip(jaw[:, 0], -1.6, 1.6)
    jaw[:, 1] = np.clip(jaw[:, 1], -0.2, 2.6)
    centre = np.array([0.0, 1.0])
    out = jaw - centre
    out /= np.linalg.norm(out, axis=1, keepdims=True) + 1e-9
    eye_line = max(frame.to_frame(points[[40, 41, 46, 47]])[:, 1].max(), 0.1) + 0.08
    wide_jaw = jaw + _WIDE * out + [0, 0.35] * (out[:, 1:2] > 0)
    top = np.array([[_TEMPLE_X, _EAR_TOP], [_TEMPLE_X, _TOP], [-_TEMPLE_X, _TOP], [-_TEMPLE_X, _EAR_TOP]])
    wide = np.concatenate([[[wide_jaw[0, 0], _EAR_TOP]], wide_jaw, [[wide_jaw[-1, 0], _EAR_TOP]], top])
    cv2.fillPoly(seeds, [np.round(frame.to_photo(wide)).astype(np.int32)], int(cv2.GC_PR_BGD))
    probable = jaw + 0.12 * out + [0, 0.12] * (out[:, 1:2] > 0)
    nose_top = eye_line + 0.15
    if below_nose:
        nose_top = max(nose_top, float(np.clip(frame.to_frame(points[33])[0, 1], 0.6, 1.2)))
    probable = np.concatenate([[[probable[1, 0], nose_top]], probable[1:16], [[probable[15, 0], nose_top]]])
    cv2.fillPoly(seeds, [np.round(frame.to_photo(probable)).astype(np.int32)], int(cv2.GC_PR_FGD))
    core = np.array([[-0.4, 1.25], [0.4, 1.25], [0.35, 1.55], [0.0, 1.65], [-0.35, 1.55]])
    cv2.fillPoly(seeds, [np.round(frame.to_photo(core)).astype(np.int32)], int(cv2.GC_FGD))
    # the eye openings and everything above the eyes are certain background
    for eye, on_mask in zip((points[36:42], points[42:48]), covered):
        cv2.fillPoly(seeds, [np.round(eye).astype(np.int32)], int(cv2.GC_PR_BGD if on_mask else cv2.GC_BGD))
    seeds[polygon_mask(frame, _BRIDGE, shape)] = cv2.GC_BGD
    above = polygon_mask(frame, np.concatenate([[[-3, -3], [3, -3], [3, _EAR_TOP]], top, [[-3, _EAR_TOP]]]), shape)
    seeds[above] = cv2.GC_BGD
    return seeds


_WALL_FROM = 0.6
"""Nothing above this frame y (units of d; the nose's middle) is widened: there the region meets
the eyes and the mask's upper edge, which `_prior` bounds on purpose."""
_WALL_BESIDE = 0.9
"""Only a contact beside the face (|x| beyond this, units of d) counts: under the chin, a cut
that reaches the certain background has mostly leaked onto a shirt of the mask's colour (white
masks on white collars: widening there took more of the shirt)."""
_WALL = 0.4
"""Length (units of d) of the cut's contact with the certain background beside the face from
which the certain background is taken to have stopped the mask: dlib's jaw on a turned head
runs inside the mask, so `_WIDE` beyond it is not enough."""
_WIDEN = 0.5
"""How far (units of d) the probable background is pushed out from where the cut met it."""


def _widened(seeds: np.ndarray, segment: np.ndarray, frame: FaceFrame) -> np.ndarray | None:
    """GrabCut seed labels (h, w) uint8 with the certain background below `_WALL_FROM` turned
    probable within `_WIDEN` d of where the cut (`segment`, bool (h, w)) runs along it beside
    the face (`_WALL_BESIDE`) for at least `_WALL` d; None when the cut stays clear of it there."""
    coords = frame.grid(seeds.shape)
    beside = (coords[..., 1] > _WALL_FROM) & (np.abs(coords[..., 0]) > _WALL_BESIDE)
    certain = seeds == cv2.GC_BGD
    near_certain = cv2.dilate(certain.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    wall = segment & near_certain & beside
    if wall.sum() < _WALL * frame.d:
        return None
    reach = grow(wall, frame.d * _WIDEN)
    wider = seeds.copy()
    wider[reach & certain & (coords[..., 1] > _WALL_FROM)] = cv2.GC_PR_BGD
    return wider


def _grabcut(image: np.ndarray, seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GrabCut from the seed labels. Returns (segment, fabric): the cut, bool (h, w), and per
    pixel whether its colour is likelier under the learnt mask colour model than under the
    skin/background model, bool (h, w) (no smoothness: thin straps keep their pixels)."""
    labels = seeds.copy()
    if not (labels == cv2.GC_FGD).any() or not np.isin(labels, (cv2.GC_BGD, cv2.GC_PR_BGD)).any():
        return np.zeros(seeds.shape, bool), np.zeros(seeds.shape, bool)
    bgd = np.zeros((1, 65), np.float64)
    fgd = np.zeros((1, 65), np.float64)
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    cv2.setRNGSeed(0)  # GrabCut's k-means starts from OpenCV's global RNG: same photo, same cut
    cv2.grabCut(bgr, labels, None, bgd, fgd, 5, cv2.GC_INIT_WITH_MASK)
    pixels = bgr.reshape(-1, 3).astype(np.float64)
    fabric = _gmm_log_density(fgd, pixels) > _gmm_log_density(bgd, pixels)
    return np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)), fabric.reshape(seeds.shape)


def _gmm_log_density(model: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Log density of colours (N, 3) under an OpenCV GrabCut model (1, 65): five Gaussians laid
    out as 5 weights, 5 x 3 means, 5 x 9 covariances."""
    weights, means, covs = model[0, :5], model[0, 5:20].reshape(5, 3), model[0, 20:].reshape(5, 3, 3)
    out = np.full(len(pixels), -np.inf)
    for weight, mean, cov in zip(weights, means, covs):
        if weight <= 0:
            continue
        cov = cov + 0.01 * np.eye(3)
        diff = pixels - mean
        mahalanobis = np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff)
        log_p = np.log(weight) - 0.5 * (mahalanobis + np.log(np.linalg.det(cov)) + 3 * np.log(2 * np.pi))
        out = np.logaddexp(out, log_p)
    return out


def _clean(segment: np.ndarray, fabric: np.ndarray, lines: np.ndarray, weak: np.ndarray, seeds: np.ndarray,
           frame: FaceFrame, margin: float) -> np.ndarray:
    """The region from the GrabCut answer (bool (h, w)): smoothed, the piece that holds the
    mouth/chin core with its holes filled, what `unmask.region.loops.with_loops` adds beside the
    face (straps, ear loops from the thin `lines` and `weak` lines, bool (h, w) each), and a
    `margin` (units of d)."""
    kernel = disc(frame.d * 0.05)
    seg = cv2.morphologyEx(segment.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    seg = cv2.morphologyEx(seg, cv2.MORPH_CLOSE, kernel)
    keep = fill_holes(touching(seg.astype(bool), seeds == cv2.GC_FGD))
    # loops reach beside the eyes only up to the ears' top, between the temples not above `_TOP`
    coords = frame.grid(seeds.shape)
    zone = (coords[..., 1] > _EAR_TOP) & ((np.abs(coords[..., 0]) > _TEMPLE_X) | (coords[..., 1] > _TOP))
    keep = with_loops(keep, segment, fabric, lines, weak, seeds != cv2.GC_BGD, zone, frame)
    # a margin: the cut runs on a small copy and fabric edges blend into the skin; it stays out
    # of the certain background (eyes, brows, far from the face)
    return _grown(keep, frame.d * margin) & (seeds != cv2.GC_BGD) | keep


_NETWORK = 0.5
"""Probability from which the region network's pixels (`unmask.region.net`) join the region."""
_NETWORK_PIECE = 0.5
"""Largest piece (units of d squared) the network may add. Printed ears are up to about 0.4 (the
red print's, joined over both eyes), loops about 0.1; a blue wall beside a blue mask (mfr2 m18/1)
was 1.4. Nor may a piece reach above `_EAR_TOP` (the forehead and temples: no mask goes there)."""
_EYE_REACH = 0.5
"""Within this distance (units of d: up to the middle between the eyes) of an eye whose opening
the network does not claim (mean probability under `_NETWORK`: tinted lenses, mfr2 m01/1, 0.32)
it adds nothing."""
_NETWORK_EYE = 0.8
"""Probability from which the network's pixels join within `_EYE_REACH` of an eye it claims:
at 0.5 it took the upper lids over a mask that covers three quarters of the opening (drawn
black on people/ p04/2 and p02/1, lids 0.05-0.13 d from the mask)."""
_NETWORK_LINE = 0.2
"""Probability from which the network's pixels join where the weak line map (`loops.line_maps`) agrees:
ear loops, one or two pixels wide on the network's grid, get probabilities of 0.2-0.5."""
_RIM = 0.016
"""Of the network's pieces only what reaches farther than this (units of d; 1 px of the work crop)
from the region joins, with the part of the piece that joins it to the region: the network's
mask ends a little outside the cut's, and that rim along the region's edge was half of the extra
area. Fitted with `_MARGIN` and `_UPSAMPLE` by `scripts/fit_region_margin.py` (0.03 and 0.05 left
a second fitting case above 1 % beyond the fill's reach; docs/region.md, "Eighth pass")."""


def _network_region(probability: np.ndarray, seeds: np.ndarray, frame: FaceFrame, margin: float) -> np.ndarray:
    """The region network's own region on the work crop, bool (h, w): its pixels from `_NETWORK`
    (`probability` float (h, w)) outside the certain background of the GrabCut `seeds` (h, w),
    the piece that holds the mouth/chin core, its holes filled, with a `margin` (units of d)."""
    certain = seeds == cv2.GC_BGD
    keep = fill_holes(touching((probability >= _NETWORK) & ~certain, seeds == cv2.GC_FGD)) & ~certain
    return _grown(keep, frame.d * margin) & ~certain | keep


def _network_pieces(probability: np.ndarray, segment: np.ndarray, points: np.ndarray, weak: np.ndarray,
                    frame: FaceFrame, margin: float, rim: float) -> np.ndarray:
    """The region network's mask pixels (its `probability` on the work crop, float (h, w) in
    [0, 1]) as bool (h, w), the shape of `segment`, the region on the work crop (`points` the
    landmarks and `frame` the face frame on it; `weak` its weak line map) in pieces connected to the region, at most
    `_NETWORK_PIECE` large and below the forehead, near the eyes only where it is sure and claims
    the eye, with a `margin` (units of d; not near the eyes): what the cut left
    out (ear loops, prints over the eyes). Of a piece only what reaches farther than `rim`
    (units of d) from the region is added, with the part of the piece within `rim` of it that
    joins it to the region: not the thin rim along the region's edge where the network's mask
    ends a little outside the cut's."""
    d = frame.d
    # near an eye (eyelids and lashes are lines too) only what the network is sure of, and only
    # if it claims the eye's opening: a print over the eye, not a mask's edge under it
    near_eyes = np.zeros(segment.shape, bool)
    sure = probability >= _NETWORK
    for eye, opening in zip((points[36:42], points[42:48]), _eye_openings(points, segment.shape)):
        near = np.zeros(segment.shape, np.uint8)
        cv2.circle(near, tuple(int(v) for v in np.round(eye.mean(axis=0))), max(1, round(_EYE_REACH * d)), 1, -1)
        near = near.astype(bool) | opening
        claimed = opening.any() and probability[opening].mean() >= _NETWORK
        sure[near] = claimed & (probability[near] >= _NETWORK_EYE)
        near_eyes |= near
    network = sure | (probability >= _NETWORK_LINE) & weak & ~near_eyes
    forehead = frame.grid(segment.shape)[..., 1] < _EAR_TOP
    near_region = _grown(segment, d * rim)
    added = np.zeros(segment.shape, bool)
    for piece in attached(network & ~segment, segment):
        if piece.sum() <= _NETWORK_PIECE * d**2 and not (piece & forehead).any():
            # what reaches beyond the rim, and the part of the piece that joins it to the region
            beyond = piece & ~near_region
            added |= beyond | piece & _grown(beyond, d * rim + 1)
    grown = _grown(added, d * margin)
    return grown & ~near_eyes | added


def overlay_region(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The photo (H, W, 3) uint8 with the region (bool (H, W)) tinted red and outlined, to check it."""
    out = image.astype(np.float64)
    out[mask] = 0.55 * out[mask] + 0.45 * np.array([255.0, 0.0, 0.0])
    out = np.round(out).astype(np.uint8)
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    width = max(1, round(max(image.shape[:2]) / 400))
    cv2.drawContours(out, contours, -1, (255, 255, 0), width)
    return out
