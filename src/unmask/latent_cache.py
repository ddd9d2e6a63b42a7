"""On-disk cache of projected latents, so that trying other mixing settings is instant.

Key: sha256 of the aligned image's bytes, its mask, the generator's identity (a hash of its
weights), the projection settings and the seed. Folder: `$UNMASK_HOME/latents`, else
`<platform user cache dir>/unmask/latents` (next to the weights cache of `unmask.gan.zoo`).
A file that cannot be read counts as missing; entries are written atomically.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from pathlib import Path

import numpy as np
import torch

from unmask.errors import UnmaskError
from unmask.project import Projection

_MODEL_IDS: "weakref.WeakKeyDictionary[torch.nn.Module, str]" = weakref.WeakKeyDictionary()


def latents_dir() -> Path:
    """The default cache folder ($UNMASK_HOME/latents or the user cache dir's unmask/latents)."""
    from unmask.gan.zoo import weights_dir

    return weights_dir().parent / "latents"


def model_id(G: torch.nn.Module) -> str:
    """sha256 of every parameter and buffer of G (names, shapes, float32 bytes); cached per G."""
    if G not in _MODEL_IDS:
        digest = hashlib.sha256()
        for name, tensor in sorted(G.state_dict().items()):
            digest.update(f"{name}{tuple(tensor.shape)}".encode())
            digest.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
        _MODEL_IDS[G] = digest.hexdigest()
    return _MODEL_IDS[G]


def latent_key(image: np.ndarray, mask: np.ndarray | None, model: str, settings: dict, seed: int) -> str:
    """Cache key of one projection: image uint8 (R, R, 3), mask bool (R, R) or None."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(image, dtype=np.uint8).tobytes() + str(image.shape).encode())
    digest.update(b"no mask" if mask is None else np.packbits(np.asarray(mask, dtype=bool)).tobytes())
    digest.update(json.dumps({"model": model, "settings": settings, "seed": seed}, sort_keys=True).encode())
    return digest.hexdigest()


class LatentCache:
    """Projections stored as `<folder>/<key>.npz` (see `Projection.save`); `folder` None = `latents_dir()`."""

    def __init__(self, folder: str | Path | None = None):
        self.folder = Path(folder) if folder is not None else latents_dir()

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.npz"

    def get(self, key: str, device: str | torch.device | None = None) -> Projection | None:
        """The stored projection (a batch of 1), or None when absent or unreadable."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            return Projection.load(path, device)
        except UnmaskError:
            return None

    def put(self, key: str, projection: Projection) -> Path:
        """Store a projection of one image, atomically."""
        return projection.save(self.path(key))
