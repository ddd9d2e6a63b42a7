"""Give a randomly initialised generator the output scale of a trained one.

A StyleGAN2 generator with NVIDIA's initialisation draws "images" far outside [-1, 1] (measured:
87 % of the pixels of the FFHQ 1024 architecture, 47 % at 256), and every resolution's ToRGB
layer adds as much as the coarser ones. A photo of such an image is mostly pure black and white,
so it says little about how well a projector recovers a face. A trained generator keeps its
images inside [-1, 1] and adds less and less at the finer resolutions. `rescale_to_rgb` scales
each ToRGB layer (weight and bias: its output is linear in them and feeds nothing but the image)
so that the block at resolution 4 * 2^k contributes a standard deviation of `std * decay^k`
(measured over a few mapped latents). Tests and benchmarks use it to make random stand-ins for
trained weights; the network graph, and so its cost, is unchanged.
"""

from __future__ import annotations

import torch


@torch.no_grad()
def rescale_to_rgb(G, std: float = 0.3, decay: float = 0.7, samples: int = 4, seed: int = 0):
    """Scale G's ToRGB layers in place (see the module docstring); returns G.

    std: standard deviation of the 4x4 block's RGB contribution; decay: ratio between one block's
    and the next coarser one's. With the defaults the sum stays within [-1, 1] for about 99 % of
    the pixels (tested).
    """
    blocks = [getattr(G.synthesis, f"b{r}") for r in G.synthesis.block_resolutions]
    outputs: dict[int, torch.Tensor] = {}
    hooks = [b.torgb.register_forward_hook(lambda m, args, out, k=k: outputs.__setitem__(k, out))
             for k, b in enumerate(blocks)]
    try:
        z = torch.randn(samples, G.z_dim, generator=torch.Generator().manual_seed(seed))
        G.synthesis(G.mapping(z.to(next(G.parameters()).device), None), noise_mode="const")
    finally:
        for hook in hooks:
            hook.remove()
    for k, block in enumerate(blocks):
        factor = std * decay**k / max(float(outputs[k].std()), 1e-12)
        block.torgb.weight.mul_(factor)
        block.torgb.bias.mul_(factor)
    return G
