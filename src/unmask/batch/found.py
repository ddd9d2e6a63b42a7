"""What an album's scan found on a photo (every face and its face-mask region), as JSON for the
scan's record file and the COMPLETE job, so the pipeline does not detect them a second time.

The values round-trip exactly (floats as JSON numbers, regions as packed bits), so a target
completed from them gives the same bytes as one detected again. `target` is the SHA-256 of the
photo's bytes: what was found is used only for the very file it was found on.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from unmask.face import Face
    from unmask.images import NamedImage
    from unmask.pipeline import Scene
    from unmask.region import MaskRegion


def file_hash(data: bytes) -> str:
    """SHA-256 (hex) of a file's bytes."""
    return hashlib.sha256(data).hexdigest()


def found_record(data: bytes, scene: Scene) -> dict[str, Any]:
    """A JSON-able dict of the faces and regions `unmask.pipeline.locate` found (every face) on the
    photo whose file bytes are `data`."""
    return {"target": file_hash(data), "detected": scene.detected,
            "faces": [{"face": _face(spot.face), "region": None if spot.found is None else _region(spot.found)}
                      for spot in scene.faces]}


def found_scene(record: dict[str, Any], data: bytes, photo: NamedImage, faces: list[int] | None = None) -> Scene | None:
    """The `Scene` of a `found_record` for `photo` (decoded from `data`): every face (a group
    scene), or only the faces numbered in `faces` (one: the scene of that face alone, as
    `locate(photo, face=...)` makes it). None when the record was made from other bytes than
    `data` (the file changed since the scan) or by an older scan."""
    from unmask.face import Face
    from unmask.pipeline import Scene, found_face
    from unmask.region import MaskRegion

    if record.get("target") != file_hash(data) or "faces" not in record:
        return None
    spots = []
    for number, entry in enumerate(record["faces"]):
        if faces is not None and number not in faces:
            continue
        f, r = entry["face"], entry["region"]
        face = Face(tuple(f["box"]), f["score"], np.array(f["landmarks"], np.float64), f["detector"])
        region = None
        if r is not None:
            height, width = r["shape"]
            bits = np.frombuffer(zlib.decompress(base64.b64decode(r["bits"])), np.uint8)
            mask = np.unpackbits(bits, count=height * width).reshape(height, width).astype(bool)
            region = MaskRegion(mask, r["found"], r["score"], r["coverage"], r["above_eyes"],
                                np.array(r["landmarks"], np.float64))
        spots.append(found_face(photo.pixels, face, region, photo.path))
    group = faces is None or len(faces) > 1
    return Scene(photo, str(photo.path), spots, record["detected"], group=group)


def _face(face: Face) -> dict[str, Any]:
    return {"box": [float(v) for v in face.box], "score": float(face.score), "landmarks": face.landmarks.tolist(),
            "detector": face.detector}


def _region(region: MaskRegion) -> dict[str, Any]:
    height, width = region.mask.shape
    bits = zlib.compress(np.packbits(region.mask.astype(bool)).tobytes())
    return {"shape": [height, width], "bits": base64.b64encode(bits).decode("ascii"), "found": bool(region.found),
            "score": float(region.score), "coverage": float(region.coverage), "above_eyes": float(region.above_eyes),
            "landmarks": region.landmarks.tolist()}
