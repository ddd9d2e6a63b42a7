"""What a completed case is scored against and the scores, for every mode through `score`.

Two kinds of truth. `AlignedTruth` (synthetic and real modes): the completed photo is seen at the
scoring size, FFHQ-aligned around the completed face's landmarks, with the masked photo, the
reference and the truth (synthetic: the unmasked original, the painted region's box scored) or
the identity probe (real: identity only) aligned the same way; `aligned_truth` makes it from the
case's first completion. `PhotoTruth` (`--cases`): the full completed photo against the unmasked
original, in the true region and around it (`photo_scores`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from unmask.errors import UnmaskError

MARGIN = 0.1
"""The region's bounding box is grown by this fraction of its size on every side for the box scores."""
IMAGE_METRICS = ("psnr_region", "ssim_region", "perceptual_region", "psnr_face", "ssim_face", "perceptual_face")
IDENTITY_METRICS = ("identity_result", "identity_masked", "identity_reference")
ALIGNED_METRICS = (*IMAGE_METRICS, *IDENTITY_METRICS, "region_iou", "seconds")
"""The metrics of a synthetic or real row that the summary gives."""
PHOTO_METRICS = ("remnant", "chroma90", "light90", "collateral", "seam", "seam_texture", "identity",
                 "identity_masked", "psnr_region", "ssim_region", "perceptual_region", "extra_area", "missed_area",
                 "seconds")
"""The metrics of a `--cases` row that the summary gives. `extra_area`, `missed_area`: the region
the pipeline filled (found, or the truth given) against the true one, its pixels outside the
truth and the true pixels it left out, each as a share of the true area
(`unmask.metrics.region_areas`; a refused case filled nothing: missed 1)."""
REMNANT_LIMIT = 0.01
"""A case whose remnant exceeds this share shows mask fabric: the summary counts them."""
LIGHT_LIMIT = 20.0
"""A case whose light90 exceeds this shows a pale or dark patch: the summary counts them."""
COLLATERAL_LIMIT = 0.05
"""A case whose collateral exceeds this share visibly damaged the photo: the summary counts them."""
EXTRA_LIMIT = 0.05
"""A case whose filled region exceeds the true one by more than this share of it: the summary
counts them (issue 22 asks for a median at most this)."""


@dataclass
class PhotoTruth:
    """A cases.csv case's truth, in the photo: the `masked` photo and the unmasked `truth`
    (uint8 (H, W, 3)), the true `region` (bool (H, W)) and the truth's landmarks (68, 2) where
    identity is described (None: no face in the truth, identity not scored)."""

    masked: np.ndarray
    truth: np.ndarray
    region: np.ndarray
    landmarks: np.ndarray | None


@dataclass
class AlignedTruth:
    """A synthetic or real case's truth at the scoring size (S, S, 3): the masked photo, the
    reference and the truth (or probe) aligned around the completed face, the landmarks at
    which identity descriptors are taken, the descriptor everything is compared with, the row's
    fields about the case (region_fraction, region_iou), the masked input's and the reference's
    identity distances, the painted region in the crop (synthetic; None in real mode), and the
    side `size`."""

    masked: np.ndarray
    reference: np.ndarray
    truth: np.ndarray
    landmarks: np.ndarray
    anchor: np.ndarray
    record: dict[str, Any]
    identity: dict[str, float]
    region: np.ndarray | None
    size: int


def score(image: np.ndarray, truth: PhotoTruth | AlignedTruth, net: str = "alex",
          points: np.ndarray | None = None) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Score one completed photo (uint8 (H, W, 3); a refused `--cases` case: the masked photo)
    against its `truth` with the perceptual network `net`; `points`: the completed face's 68
    landmarks in the photo, where an aligned truth's crop is taken. Returns the row's scores and
    the images the sheets show of it ("result", aligned or in the photo)."""
    if isinstance(truth, PhotoTruth):
        return photo_scores(image, truth.masked, truth.truth, truth.region, truth.landmarks, net), {"result": image}
    from unmask.face import align_face

    assert points is not None, "an aligned truth needs the completed face's landmarks"
    crop, _ = align_face(image, points, truth.size)
    return {**truth.record, **aligned_scores(crop, truth, net)}, {"result": crop}


def photo_scores(
    result: np.ndarray, masked: np.ndarray, truth: np.ndarray, region: np.ndarray,
    truth_landmarks: np.ndarray | None, net: str = "alex",
) -> dict[str, float]:
    """Every score of `result` (uint8 (H, W, 3), the completed photo) against `truth`, given the
    `masked` photo and the true `region` (H, W) bool; `truth_landmarks` (68, 2) where the identity
    descriptors are taken (None: identity scores are NaN). Keys: remnant, chroma90, light90,
    collateral, seam, seam_texture, identity, identity_masked, psnr_region, ssim_region,
    perceptual_region."""
    from unmask.face import identity_distance
    from unmask.metrics import box_scores, chroma90, collateral, descriptor, light90, remnant, seam, seam_texture

    scores = {"remnant": remnant(result, masked, region), "chroma90": chroma90(result, truth, region),
              "light90": light90(result, truth, region), "collateral": collateral(result, masked, region),
              "seam": seam(result, truth, masked, region), "seam_texture": seam_texture(result, truth, masked, region)}
    if truth_landmarks is None:
        scores.update(identity=float("nan"), identity_masked=float("nan"))
    else:
        anchor = descriptor(truth, truth_landmarks)
        scores["identity"] = identity_distance(descriptor(result, truth_landmarks), anchor)
        scores["identity_masked"] = identity_distance(descriptor(masked, truth_landmarks), anchor)
    scores.update(box_scores(result, truth, region, MARGIN, net))
    return scores


def aligned_scores(crop: np.ndarray, truth: AlignedTruth, net: str = "alex") -> dict[str, float]:
    """The scores of a completed face's aligned `crop` (S, S, 3): the image scores against the
    truth in the painted region's box and on the whole crop (synthetic), and the identity
    distance to the truth's (or probe's) descriptor, with the masked input's and the reference's."""
    from unmask.face import identity_distance
    from unmask.metrics import descriptor, image_scores

    scores: dict[str, float] = {}
    if truth.region is not None:
        scores.update(image_scores(crop, truth.truth, truth.region, MARGIN, net))
    scores["identity_result"] = identity_distance(descriptor(crop, truth.landmarks), truth.anchor)
    scores.update(truth.identity)
    return scores


def aligned_truth(scene: Any, filled: Any, photo: np.ndarray, face: Any, region: np.ndarray | None, size: int,
                  what: str) -> AlignedTruth:
    """The truth of a synthetic or real case aligned at `size` around the completed face's
    landmarks (`filled.points`, a `unmask.pipeline.Filled` of `scene`, the hidden ones as the
    pipeline estimated them from the reference): `photo` the unmasked original with the painted
    `region` (synthetic) or the identity probe and `region` None (real), `face` its `Face`.
    Raises `UnmaskError` (naming `what` was painted) when the painted region misses the crop."""
    from unmask.face import align_face, face_descriptor, identity_distance
    from unmask.metrics import descriptor

    masked_crop, alignment = align_face(scene.photo.pixels, filled.points, size)
    reference = filled.reference
    reference_crop, reference_alignment = align_face(reference.image, reference.face.landmarks, size)
    spot = scene.faces[filled.index]
    fill_region = alignment.region_to_crop(spot.region)
    record: dict[str, Any] = {"region_fraction": float(fill_region.mean())}
    if region is None:  # real: the probe, aligned on its own face, described in its photo
        truth_crop, _ = align_face(photo, face.landmarks, size)
        landmarks = alignment.to_crop(filled.points)
        anchor = face_descriptor(photo, face)
        truth_region = None
        reference_identity = face_descriptor(reference.image, reference.face)
    else:  # synthetic: the original photo under the same transform as the masked one
        truth_crop, _ = align_face(photo, filled.points, size)
        landmarks = alignment.to_crop(face.landmarks)
        anchor = descriptor(truth_crop, landmarks)
        truth_region = alignment.region_to_crop(region)
        if not truth_region.any():
            raise UnmaskError(f"the painted {what} mask does not overlap the aligned face", scene.photo.path)
        if spot.region_info.get("source") == "detected":
            union = np.logical_or(fill_region, truth_region).sum()
            record["region_iou"] = float(np.logical_and(fill_region, truth_region).sum() / max(union, 1))
        reference_identity = descriptor(reference_crop, reference_alignment.to_crop(reference.face.landmarks))
    identity = {"identity_masked": identity_distance(descriptor(masked_crop, landmarks), anchor),
                "identity_reference": identity_distance(reference_identity, anchor)}
    return AlignedTruth(masked_crop, reference_crop, truth_crop, landmarks, anchor, record, identity, truth_region,
                        size)
