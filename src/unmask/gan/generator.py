"""The StyleGAN2 generator (config F, skip architecture) in plain PyTorch.

Numerically it follows NVIDIA's stylegan2-ada-pytorch `training/networks.py` (also the StyleGAN2
networks of the stylegan3 repository): equalised learning rate (weights scaled by 1/sqrt(fan_in)
at run time), mapping network with lr multiplier 0.01 and a tracked `w_avg`, modulated and
demodulated 3x3 convolutions, [1, 3, 3, 1] FIR up-sampling, per-layer noise, leaky ReLU with gain
sqrt(2), optional `conv_clamp`, and skip-connected ToRGB outputs. Layers that NVIDIA runs in fp16 on
a GPU run in fp32 here; `conv_clamp` is honoured everywhere as in their code.

Parameter and buffer names mirror NVIDIA's (`mapping.fc0.weight`, `synthesis.b4.conv1.affine.bias`,
`synthesis.b8.conv0.noise_const`...), except that noise constants have shape (1, 1, r, r).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch
from torch import nn

from unmask.gan import ops
from unmask.gan.layout import num_ws as layout_num_ws
from unmask.gan.layout import style_indices

NOISE_MODES = ("const", "random", "none")


@dataclasses.dataclass(frozen=True)
class GeneratorConfig:
    """Architecture of a StyleGAN2 generator. Channels at resolution r are
    min(channel_base // r, channel_max) (NVIDIA's rule; config-f and FFHQ 512/1024: 32768/512,
    FFHQ 256 of stylegan2-ada "paper256": 16384/512)."""

    resolution: int
    z_dim: int = 512
    w_dim: int = 512
    img_channels: int = 3
    mapping_layers: int = 8
    mapping_lr_multiplier: float = 0.01
    channel_base: int = 32768
    channel_max: int = 512
    conv_clamp: float | None = None

    def __post_init__(self) -> None:
        layout_num_ws(self.resolution)  # validates: a power of two >= 4
        for name in ("z_dim", "w_dim", "img_channels", "mapping_layers", "channel_base", "channel_max"):
            if int(getattr(self, name)) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.resolution > 4096:
            raise ValueError(f"resolution {self.resolution} is above 4096")

    def channels(self, res: int) -> int:
        """Feature channels of the block at resolution `res`."""
        return min(self.channel_base // res, self.channel_max)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GeneratorConfig":
        """Build from a dict (e.g. parsed JSON); unknown keys raise ValueError."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown generator settings: {sorted(unknown)}")
        return cls(**data)


class FullyConnected(nn.Module):
    """Dense layer with equalised learning rate: y = x (W * lr/sqrt(in))^T + b * lr."""

    def __init__(self, in_features: int, out_features: int, lrelu: bool = False,
                 lr_multiplier: float = 1.0, bias_init: float = 0.0):
        super().__init__()
        self.lrelu = lrelu
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init)))
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight * self.weight_gain
        b = self.bias * self.bias_gain if self.bias_gain != 1 else self.bias
        if not self.lrelu:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return ops.bias_act(x.matmul(w.t()), b, lrelu=True, gain=ops.LRELU_GAIN)


class MappingNetwork(nn.Module):
    """z (N, z_dim) -> w broadcast to (N, num_ws, w_dim), with truncation towards `w_avg`."""

    def __init__(self, cfg: GeneratorConfig, num_ws: int):
        super().__init__()
        self.z_dim, self.w_dim, self.num_ws = cfg.z_dim, cfg.w_dim, num_ws
        self.num_layers = cfg.mapping_layers
        features = [cfg.z_dim] + [cfg.w_dim] * cfg.mapping_layers
        for idx in range(cfg.mapping_layers):
            layer = FullyConnected(features[idx], features[idx + 1], lrelu=True,
                                   lr_multiplier=cfg.mapping_lr_multiplier)
            setattr(self, f"fc{idx}", layer)
        self.register_buffer("w_avg", torch.zeros(cfg.w_dim))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None) -> torch.Tensor:
        if c is not None and c.numel() > 0:
            raise ValueError("this generator is unconditional (c_dim = 0); pass c=None")
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must have shape (N, {self.z_dim}), got {tuple(z.shape)}")
        x = ops.normalize_2nd_moment(z.to(torch.float32))
        for idx in range(self.num_layers):
            x = getattr(self, f"fc{idx}")(x)
        x = x.unsqueeze(1).repeat(1, self.num_ws, 1)
        if truncation_psi != 1:
            if truncation_cutoff is None:
                x = self.w_avg.lerp(x, truncation_psi)
            else:
                head = self.w_avg.lerp(x[:, :truncation_cutoff], truncation_psi)
                x = torch.cat([head, x[:, truncation_cutoff:]], dim=1)
        return x


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv (optionally 2x up-sampling) + noise + bias + lrelu (gain sqrt 2) + clamp."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int,
                 up: bool, conv_clamp: float | None):
        super().__init__()
        self.resolution, self.up, self.conv_clamp = resolution, up, conv_clamp
        self.affine = FullyConnected(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 3, 3))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution))
        self.register_buffer("resample_filter", ops.setup_filter(), persistent=False)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str) -> torch.Tensor:
        styles = self.affine(w)
        x = ops.modulated_conv2d(x, self.weight, styles, demodulate=True, up=self.up,
                                 resample_filter=self.resample_filter)
        if noise_mode == "const":
            x = x + self.noise_const * self.noise_strength
        elif noise_mode == "random":
            noise = torch.randn(x.shape[0], 1, self.resolution, self.resolution,
                                device=x.device, dtype=x.dtype)
            x = x + noise * self.noise_strength
        return ops.bias_act(x, self.bias, lrelu=True, gain=ops.LRELU_GAIN, clamp=self.conv_clamp)


class ToRGBLayer(nn.Module):
    """Modulated 1x1 conv without demodulation, + bias, clamped: features -> RGB."""

    def __init__(self, in_channels: int, img_channels: int, w_dim: int, conv_clamp: float | None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnected(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(img_channels, in_channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(img_channels))
        self.weight_gain = 1.0 / math.sqrt(in_channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        x = ops.modulated_conv2d(x, self.weight, styles, demodulate=False)
        return ops.bias_act(x, self.bias, lrelu=False, clamp=self.conv_clamp)


class SynthesisBlock(nn.Module):
    """One resolution: (const input | conv0 with 2x up) -> conv1 -> ToRGB added to the upsampled
    image of the previous block."""

    def __init__(self, cfg: GeneratorConfig, resolution: int):
        super().__init__()
        self.resolution = resolution
        out_ch = cfg.channels(resolution)
        if resolution == 4:
            self.const = nn.Parameter(torch.randn(out_ch, 4, 4))
        else:
            in_ch = cfg.channels(resolution // 2)
            self.conv0 = SynthesisLayer(in_ch, out_ch, cfg.w_dim, resolution, True, cfg.conv_clamp)
        self.conv1 = SynthesisLayer(out_ch, out_ch, cfg.w_dim, resolution, False, cfg.conv_clamp)
        self.torgb = ToRGBLayer(out_ch, cfg.img_channels, cfg.w_dim, cfg.conv_clamp)
        self.register_buffer("resample_filter", ops.setup_filter(), persistent=False)
        # Style indices: conv0 takes the second index of the previous resolution (see layout.py).
        own = style_indices(resolution)
        self.w_conv0 = style_indices(resolution // 2)[1] if resolution > 4 else None
        self.w_conv1, self.w_torgb = own[0], own[1]

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, ws: torch.Tensor,
                noise_mode: str) -> tuple[torch.Tensor, torch.Tensor]:
        if self.w_conv0 is None:
            x = self.const.unsqueeze(0).repeat(ws.shape[0], 1, 1, 1)
        else:
            x = self.conv0(x, ws[:, self.w_conv0], noise_mode)
        x = self.conv1(x, ws[:, self.w_conv1], noise_mode)
        y = self.torgb(x, ws[:, self.w_torgb])
        img = y if img is None else ops.upsample2d(img, self.resample_filter) + y
        return x, img


class SynthesisNetwork(nn.Module):
    """ws (N, num_ws, w_dim) -> image (N, img_channels, R, R), roughly in [-1, 1]."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        self.w_dim = cfg.w_dim
        self.resolution = cfg.resolution
        self.num_ws = layout_num_ws(cfg.resolution)
        self.block_resolutions = [2 ** i for i in range(2, cfg.resolution.bit_length())]
        for res in self.block_resolutions:
            setattr(self, f"b{res}", SynthesisBlock(cfg, res))

    def noise_buffers(self) -> list[torch.Tensor]:
        """The constant noise inputs (1, 1, r, r), in layer order (4x4 conv1, 8x8 conv0, conv1...).
        They are used as they are when noise_mode="const", so they can be optimised in place."""
        out = []
        for res in self.block_resolutions:
            block = getattr(self, f"b{res}")
            if res > 4:
                out.append(block.conv0.noise_const)
            out.append(block.conv1.noise_const)
        return out

    def forward(self, ws: torch.Tensor, noise_mode: str = "const",
                until_resolution: int | None = None) -> torch.Tensor:
        """Render ws. `until_resolution` stops after that block and returns the skip-architecture
        RGB image at that resolution (N, C, r, r): a cheap lower-resolution rendering."""
        stop = self.resolution if until_resolution is None else until_resolution
        if stop not in self.block_resolutions:
            raise ValueError(f"until_resolution must be one of {self.block_resolutions}, got {stop}")
        return next(img for res, img in self._images(ws, noise_mode) if res == stop)  # stops the pass there

    def with_skip_image(self, ws: torch.Tensor, at: int,
                        noise_mode: str = "const") -> tuple[torch.Tensor, torch.Tensor]:
        """One pass: (the full image (N, C, R, R), the skip-architecture image at resolution `at`
        (N, C, at, at), as `forward(ws, until_resolution=at)` returns it)."""
        if at not in self.block_resolutions:
            raise ValueError(f"at must be one of {self.block_resolutions}, got {at}")
        images = dict(self._images(ws, noise_mode))
        return images[self.resolution], images[at]

    def _images(self, ws: torch.Tensor, noise_mode: str):
        """Yields (resolution, skip-architecture image) block by block, coarse to fine."""
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        if ws.dim() != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must have shape (N, {self.num_ws}, {self.w_dim}), got {tuple(ws.shape)}")
        ws = ws.to(torch.float32)
        x = img = None
        for res in self.block_resolutions:
            x, img = getattr(self, f"b{res}")(x, img, ws, noise_mode)
            yield res, img


class Generator(nn.Module):
    """StyleGAN2 generator: `mapping` (z -> ws) followed by `synthesis` (ws -> image in [-1, 1]).

    Attributes: z_dim, w_dim, c_dim (always 0), resolution, num_ws, img_channels, config.
    """

    def __init__(self, config: GeneratorConfig):
        super().__init__()
        self.config = config
        self.z_dim, self.w_dim, self.c_dim = config.z_dim, config.w_dim, 0
        self.resolution, self.img_channels = config.resolution, config.img_channels
        self.synthesis = SynthesisNetwork(config)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(config, self.num_ws)

    @classmethod
    def from_state(cls, config: GeneratorConfig, state: dict[str, torch.Tensor]) -> "Generator":
        """Build from a complete state dict, taking its tensors as they are (no copy). Raises
        RuntimeError (from load_state_dict) when names or shapes do not match.
        (Not built on the meta device: that pulls in torch's meta-kernel modules, measured slower
        than the random initialisation it saves.)"""
        G = cls(config)
        G.load_state_dict(state, strict=True, assign=True)
        return G

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, noise_mode: str = "const",
                until_resolution: int | None = None) -> torch.Tensor:
        """z (N, z_dim) -> image (N, img_channels, R, R) in about [-1, 1]."""
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode, until_resolution=until_resolution)
