"""Style index layout: which entries of a W+ latent (N, num_ws, w_dim) drive which resolution.

A generator of resolution R = 2^k takes num_ws = 2k - 2 style vectors. Resolution r = 2^j owns
indices [2j-4, 2j-2): 4x4 -> 0, 1; 8x8 -> 2, 3; ...; 1024x1024 -> 16, 17.

Inside the network (as in NVIDIA's StyleGAN2), index 2j-4 drives the second 3x3 convolution at r
(conv1), and index 2j-3 drives both the RGB output at r (torgb) and the up-sampling convolution of
the next block (conv0 at 2r). So "resolution r" means: the refinement at r and the step to 2r.
"""

from __future__ import annotations

from typing import Iterable


def _log2(resolution: int) -> int:
    if resolution < 4 or resolution & (resolution - 1):
        raise ValueError(f"resolution must be a power of two >= 4, got {resolution}")
    return resolution.bit_length() - 1


def num_ws(resolution: int) -> int:
    """Number of style vectors of a generator whose output is `resolution` x `resolution`."""
    return 2 * _log2(resolution) - 2


def style_indices(resolution: int) -> range:
    """The style indices owned by `resolution` (a power of two >= 4): range(2j-4, 2j-2)."""
    j = _log2(resolution)
    return range(2 * j - 4, 2 * j - 2)


def band_indices(resolutions: Iterable[int], num_ws: int) -> list[int]:
    """Sorted style indices owned by any of `resolutions`, limited to a generator with `num_ws`
    style inputs. A resolution above the generator's own raises ValueError."""
    out: set[int] = set()
    for res in resolutions:
        idx = style_indices(res)
        if idx.start >= num_ws:
            raise ValueError(f"resolution {res} is above the generator's ({num_ws} style inputs)")
        out.update(idx)
    return sorted(out)
