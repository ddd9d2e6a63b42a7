"""LPIPS-style perceptual distance with the shift-tolerant weights that `stlpips-pytorch` ships.

The networks are the anti-aliased ("shift-tolerant") AlexNet and VGG16 of Ghildyal & Liu,
"Shift-tolerant Perceptual Similarity Metric" (ECCV 2022), rebuilt here in plain torch: the
`stlpips_pytorch` modules import torchvision and IPython, so only its weight files are read.

Distance of two images (LPIPS v0.1): scale the [-1, 1] input with a fixed per-channel shift and
scale, take five feature maps of the backbone, normalise every feature vector to unit length,
square the differences, weight the channels with the learned linear head of that layer (a 1x1
convolution to one channel), average over space and add up the five layers.

A shift-tolerant backbone differs from the plain one in that every downsampling step is a stride-1
operation followed by a blur pool: reflection padding by 2, a [1, 2, 1] x [1, 2, 1] / 16 binomial
filter per channel, stride 2. In AlexNet the first convolution runs at stride 1 and is followed by a
blur pool (instead of stride 4); max pools run at stride 1 and are followed by a blur pool.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from unmask.errors import CheckpointError, UnmaskError

NETS = ("alex", "vgg")

_EPS = 1e-10  # the reference implementation's epsilon in the feature normalisation


class BlurPool(nn.Module):
    """Anti-aliased downsampling by 2: reflection pad 2, binomial 3x3 blur per channel, stride 2.

    (N, C, H, W) -> (N, C, floor((H + 1) / 2), floor((W + 1) / 2)).
    """

    def __init__(self, channels: int):
        super().__init__()
        taps = torch.tensor([1.0, 2.0, 1.0])
        kernel = taps[:, None] * taps[None, :]
        self.register_buffer("filt", (kernel / kernel.sum()).expand(channels, 1, 3, 3).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), self.filt, stride=2, groups=x.shape[1])


def _stage(first_index: int, *layers: nn.Module) -> nn.Sequential:
    """A backbone stage whose layers are numbered from `first_index`, as in the weight files."""
    return nn.Sequential(OrderedDict((str(first_index + i), layer) for i, layer in enumerate(layers)))


def _conv(c_in: int, c_out: int, kernel: int = 3, padding: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, kernel, padding=padding)


def _alex_stages() -> list[nn.Sequential]:
    """Shift-tolerant AlexNet up to relu5; outputs of relu1..relu5 (64, 192, 384, 256, 256 channels)."""
    return [
        _stage(0, _conv(3, 64, 11, 2), BlurPool(64), nn.ReLU()),
        _stage(3, nn.MaxPool2d(3, stride=1), BlurPool(64), _conv(64, 192, 5, 2), nn.ReLU()),
        _stage(7, nn.MaxPool2d(3, stride=1), BlurPool(192), _conv(192, 384), nn.ReLU()),
        _stage(11, _conv(384, 256), nn.ReLU()),
        _stage(13, _conv(256, 256), nn.ReLU()),
    ]


def _vgg_stages() -> list[nn.Sequential]:
    """Shift-tolerant VGG16 up to relu5_3; outputs of relu1_2, relu2_2, relu3_3, relu4_3, relu5_3."""
    relu = nn.ReLU
    return [
        _stage(0, _conv(3, 64), relu(), _conv(64, 64), relu()),
        _stage(4, nn.MaxPool2d(2, stride=1), BlurPool(64),
               _conv(64, 128), relu(), _conv(128, 128), relu()),
        _stage(10, nn.MaxPool2d(2, stride=1), BlurPool(128),
               _conv(128, 256), relu(), _conv(256, 256), relu(), _conv(256, 256), relu()),
        _stage(18, nn.MaxPool2d(2, stride=1), BlurPool(256),
               _conv(256, 512), relu(), _conv(512, 512), relu(), _conv(512, 512), relu()),
        _stage(26, nn.MaxPool2d(2, stride=1), BlurPool(512),
               _conv(512, 512), relu(), _conv(512, 512), relu(), _conv(512, 512), relu()),
    ]


_CHANNELS = {"alex": (64, 192, 384, 256, 256), "vgg": (64, 128, 256, 512, 512)}
MIN_SIDE = {"alex": 21, "vgg": 18}
"""Smallest image side each network takes (a blur pool's reflection padding needs 3 px to reflect)."""
_STAGES = {"alex": _alex_stages, "vgg": _vgg_stages}


def weights_path(net: str) -> Path:
    """The shift-tolerant LPIPS weight file of `net` ("alex" or "vgg") inside `stlpips_pytorch`."""
    _check_net(net)
    try:
        # the package's __init__ is empty; its other modules (which need torchvision) stay unimported
        folder = importlib.resources.files("stlpips_pytorch")
    except ModuleNotFoundError:
        raise UnmaskError(
            "the perceptual distance needs the weights of the 'stlpips-pytorch' package: "
            "pip install stlpips-pytorch"
        ) from None
    path = Path(str(folder.joinpath("weights", "vST0.0", f"{net}_shift_tolerant.pth")))
    if not path.is_file():
        raise CheckpointError("shift-tolerant LPIPS weights missing from the stlpips-pytorch package", path)
    return path


@functools.lru_cache(maxsize=None)
def _state_dict(net: str) -> dict[str, torch.Tensor]:
    """The weight file's tensors, renamed to this module's parameter names (read once, no code run)."""
    path = weights_path(net)
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable or unsafe file is reported the same way
        raise CheckpointError(f"cannot read shift-tolerant LPIPS weights ({exc})", path) from None
    renamed = {}
    for key, value in raw.items():
        if key.startswith("scaling_layer."):
            renamed[key.removeprefix("scaling_layer.")] = value
        elif key.startswith("net.slice"):
            stage, rest = key.removeprefix("net.slice").split(".", 1)
            renamed[f"stages.{int(stage) - 1}.{rest}"] = value
        elif key.startswith("lin") and key.endswith(".model.1.weight"):
            renamed[f"heads.{key[3:].split('.', 1)[0]}.weight"] = value
        else:
            raise CheckpointError(f"unexpected tensor '{key}' in shift-tolerant LPIPS weights", path)
    return renamed


class Perceptual(nn.Module):
    """Shift-tolerant LPIPS distance; frozen, in eval mode, differentiable w.r.t. both images.

    `Perceptual(net="alex")` is the fast one (about 2.5 M parameters); "vgg" is slower and closer to
    the LPIPS used by StyleGAN projection. Use `perceptual(net, device)` for a shared cached copy.
    """

    def __init__(self, net: str = "alex", device: str | torch.device | None = None):
        super().__init__()
        _check_net(net)
        self.net = net
        self.register_buffer("shift", torch.zeros(1, 3, 1, 1))
        self.register_buffer("scale", torch.ones(1, 3, 1, 1))
        self.stages = nn.ModuleList(_STAGES[net]())
        self.heads = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in _CHANNELS[net])
        try:
            self.load_state_dict(_state_dict(net), strict=True)
        except RuntimeError as exc:
            raise CheckpointError(f"weights do not fit the {net} network ({exc})", weights_path(net)) from None
        self.requires_grad_(False)
        self.eval()
        self.to(device or "cpu")

    def train(self, mode: bool = True) -> "Perceptual":
        """Always stays in eval mode (the distance has no training-time behaviour)."""
        return super().train(False)

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Unit-length feature maps of images in [-1, 1], (N, 3, H, W) -> five (N, C_l, H_l, W_l).

        Encode a fixed image once and pass the result to `compare` to save half the work in a loop.
        """
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected images of shape (N, 3, H, W), got {tuple(x.shape)}")
        if min(x.shape[2:]) < MIN_SIDE[self.net]:
            raise ValueError(f"images must be at least {MIN_SIDE[self.net]} px on each side for "
                             f"the {self.net} network, got {tuple(x.shape[2:])}")
        h = (x - self.shift) / self.scale
        feats = []
        for stage in self.stages:
            h = stage(h)
            # sqrt(s + eps^2) instead of sqrt(s): same value, but a finite gradient where s == 0
            norm = torch.sqrt(h.square().sum(dim=1, keepdim=True) + _EPS**2)
            feats.append(h / (norm + _EPS))
        return feats

    def compare(
        self, feats_a: list[torch.Tensor], feats_b: list[torch.Tensor], mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Distance (N,) between two `encode` results; `mask` as in `forward`."""
        total = 0.0
        for head, fa, fb in zip(self.heads, feats_a, feats_b):
            layer = head((fa - fb).square())  # (N, 1, h, w)
            if mask is None:
                total = total + layer.mean(dim=(1, 2, 3))
            else:
                weight = F.interpolate(mask.to(layer.dtype), size=layer.shape[2:], mode="area")
                total = total + (layer * weight).sum(dim=(1, 2, 3)) / weight.sum(dim=(1, 2, 3)).clamp_min(1e-8)
        return total

    def forward(self, a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Perceptual distance (N,) between images `a` and `b` in [-1, 1], shape (N, 3, H, W).

        `mask` (N, 1, H, W) or (1, 1, H, W) in [0, 1] weights where the distance is measured: 1 counts,
        0 is ignored (each layer's distance map is averaged with the mask area-resized to it). Deep
        features still see a little beyond the mask's edge (their receptive field). Without a mask the
        value equals stlpips' `LPIPS(net=..., variant="shift_tolerant")`; 0 for identical images.
        Images must be at least `MIN_SIDE[net]` pixels on each side (21 alex, 18 vgg).
        """
        if a.shape != b.shape:
            raise ValueError(f"images differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
        if mask is not None and (mask.dim() != 4 or mask.shape[1] != 1 or mask.shape[2:] != a.shape[2:]):
            raise ValueError(f"mask must be (N, 1, H, W) like the images, got {tuple(mask.shape)}")
        return self.compare(self.encode(a), self.encode(b), mask)


@functools.lru_cache(maxsize=None)
def _cached(net: str, device: str) -> Perceptual:
    return Perceptual(net, device)


def perceptual(net: str = "alex", device: str | torch.device | None = None) -> Perceptual:
    """A shared, cached `Perceptual` (do not move or modify it: build your own for that)."""
    return _cached(net, str(torch.device(device or "cpu")))


def _check_net(net: str) -> None:
    if net not in NETS:
        raise UnmaskError(f"unknown perceptual network '{net}'; choose one of: {', '.join(NETS)}")
