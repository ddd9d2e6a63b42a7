"""What an album's scan found on a masked photo (its face and face-mask region), as JSON for the
scan's record file and the COMPLETE job, so the pipeline does not detect them a second time.

The values round-trip exactly (floats as JSON numbers, the region as packed bits), so a target
completed from them gives the same bytes as one detected again. `target` is the SHA-256 of the
photo's bytes: the found face is used only for the very file it was found on.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from unmask.face import Face
    from unmask.region import MaskRegion


def file_hash(data: bytes) -> str:
    """SHA-256 (hex) of a file's bytes."""
    return hashlib.sha256(data).hexdigest()


def found_record(data: bytes, face: Face, region: MaskRegion) -> dict[str, Any]:
    """A JSON-able dict of the face and region found on the photo whose file bytes are `data`."""
    height, width = region.mask.shape
    bits = zlib.compress(np.packbits(region.mask.astype(bool)).tobytes())
    return {
        "target": file_hash(data),
        "face": {"box": [float(v) for v in face.box], "score": float(face.score), "landmarks": face.landmarks.tolist(),
                 "detector": face.detector},
        "region": {"shape": [height, width], "bits": base64.b64encode(bits).decode("ascii"), "found": bool(region.found),
                   "score": float(region.score), "coverage": float(region.coverage),
                   "above_eyes": float(region.above_eyes),
                   "landmarks": region.landmarks.tolist()},
    }


def face_and_region(record: dict[str, Any], data: bytes) -> tuple[Face, MaskRegion] | None:
    """The `Face` and `MaskRegion` of a `found_record`, or None when it was made from other bytes
    than `data` (the file changed since the scan)."""
    from unmask.face import Face
    from unmask.region import MaskRegion

    if record.get("target") != file_hash(data):
        return None
    f, r = record["face"], record["region"]
    face = Face(tuple(f["box"]), f["score"], np.array(f["landmarks"], np.float64), f["detector"])
    height, width = r["shape"]
    bits = np.frombuffer(zlib.decompress(base64.b64decode(r["bits"])), np.uint8)
    mask = np.unpackbits(bits, count=height * width).reshape(height, width).astype(bool)
    region = MaskRegion(mask, r["found"], r["score"], r["coverage"], r["above_eyes"],
                        np.array(r["landmarks"], np.float64))
    return face, region
