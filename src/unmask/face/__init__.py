"""Faces: detection (works on masked faces), 68 landmarks, FFHQ alignment and its inverse, the
hidden-mouth estimate, and dlib's identity descriptor. dlib is imported only when first needed."""

from unmask.face.align import Alignment, align_face, ffhq_quad, paste_back
from unmask.face.detect import MIN_FACE_SIZE, Face, choose_face, detect_faces, find_face
from unmask.face.identity import SAME_PERSON, face_descriptor, identity_distance

__all__ = [
    "MIN_FACE_SIZE",
    "SAME_PERSON",
    "Alignment",
    "Face",
    "align_face",
    "choose_face",
    "detect_faces",
    "face_descriptor",
    "ffhq_quad",
    "find_face",
    "identity_distance",
    "paste_back",
]
