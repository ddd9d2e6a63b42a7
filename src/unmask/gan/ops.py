"""The numerical building blocks of StyleGAN2, in plain PyTorch (no CUDA extension).

Semantics follow NVIDIA's stylegan2-ada-pytorch reference implementations: `upfirdn2d`
(upsample by zero insertion, pad, FIR filter), the [1, 3, 3, 1] low-pass filter,
modulated convolution with demodulation, and bias + activation + gain + clamp.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)


def setup_filter(taps: list[float] | tuple[float, ...] = (1, 3, 3, 1)) -> torch.Tensor:
    """Separable FIR low-pass filter as a normalised 2D kernel (sum 1), shape (k, k), float32."""
    f = torch.as_tensor(taps, dtype=torch.float32)
    f = f[:, None] * f[None, :]
    return f / f.sum()


def upfirdn2d(x: torch.Tensor, f: torch.Tensor, up: int = 1,
              padding: tuple[int, int, int, int] = (0, 0, 0, 0), gain: float = 1.0) -> torch.Tensor:
    """Upsample (zero insertion), pad (x0, x1, y0, y1; negative crops), convolve with the 2D FIR
    filter `f` (scaled by `gain`): NVIDIA's upfirdn2d without the down-sampling step, which the
    generator never uses. x: (N, C, H, W) -> (N, C, H', W')."""
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    px0, px1, py0, py1 = padding
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0), max(-px0, 0): x.shape[3] - max(-px1, 0)]
    # conv2d correlates; flipping the filter makes it a true convolution, as upfirdn2d defines it.
    kernel = (f * gain).flip([0, 1]).to(x.dtype)
    kernel = kernel[None, None].expand(c, 1, *f.shape)
    return F.conv2d(x, kernel, groups=c)


def upsample2d(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """2x FIR upsampling that keeps signal magnitude (gain 4): (N, C, H, W) -> (N, C, 2H, 2W)."""
    k = f.shape[0]
    pad0, pad1 = (k + 1) // 2, (k - 2) // 2
    return upfirdn2d(x, f, up=2, padding=(pad0, pad1, pad0, pad1), gain=4.0)


def _fir_after_up2(x: torch.Tensor, f: torch.Tensor, k: int) -> torch.Tensor:
    """The FIR step after a stride-2 transposed k x k convolution: (2H+k-2) -> 2H."""
    fk = f.shape[0]
    # Padding with respect to the upsampled image, minus what the transposed conv already added.
    pad0 = k // 2 + (fk + 1) // 2 - (k - 1)
    pad1 = k // 2 + (fk - 2) // 2 - (k - 2)
    return upfirdn2d(x, f, padding=(pad0, pad1, pad0, pad1), gain=4.0)


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor,
                     demodulate: bool = True, up: bool = False,
                     resample_filter: torch.Tensor | None = None) -> torch.Tensor:
    """StyleGAN2 modulated convolution: scale input channels by `styles`, convolve with `weight`,
    and (if `demodulate`) normalise each output channel to unit expected magnitude.

    x: (N, I, H, W), weight: (O, I, k, k), styles: (N, I) -> (N, O, H, W) or (N, O, 2H, 2W) if
    `up` (then `resample_filter` is the FIR filter). As NVIDIA's fused path: the styles and
    demodulation fold into per-sample weights (cheap: O*I*k*k numbers) and the batch runs as one
    grouped convolution, so no extra pass over the large activations is needed.
    """
    n, in_ch, h, w_ = x.shape
    out_ch, _, kh, kw = weight.shape
    w = weight.unsqueeze(0) * styles.reshape(n, 1, -1, 1, 1)  # (N, O, I, k, k)
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt().reshape(n, -1, 1, 1, 1)
    x = x.reshape(1, n * in_ch, h, w_)
    if up:
        # 3x3 conv on the 2x upsampled input = stride-2 transposed conv + FIR filter (NVIDIA's
        # conv2d_resample with up=2, padding=1); transposed-conv weights are (in, out) per group.
        w = w.transpose(1, 2).reshape(n * in_ch, out_ch, kh, kw)
        x = F.conv_transpose2d(x, w, stride=2, groups=n)
        x = _fir_after_up2(x, resample_filter, kh)
    else:
        x = F.conv2d(x, w.reshape(n * out_ch, in_ch, kh, kw), padding=kh // 2, groups=n)
    return x.reshape(n, out_ch, *x.shape[2:])


def bias_act(x: torch.Tensor, bias: torch.Tensor, lrelu: bool, gain: float = 1.0,
             clamp: float | None = None) -> torch.Tensor:
    """Add a per-channel bias (dim 1), apply leaky ReLU (slope 0.2) if `lrelu`, multiply by
    `gain`, clamp to [-clamp, clamp] if given. Any shape (N, C, ...)."""
    x = x + bias.reshape([1, -1] + [1] * (x.dim() - 2))
    if lrelu:
        x = F.leaky_relu(x, LRELU_SLOPE)
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return x


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each row of x (N, D) to unit mean square."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()
