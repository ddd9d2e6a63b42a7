"""Latent projection: the StyleGAN2 latent (W or W+) that reproduces aligned faces.

Two optimisers, both starting every latent at the mean of 10,000 mapped random z and comparing
images at 256x256 at most (area-downsampled):

- `optimizer="lbfgs"` (the default, fast): L-BFGS on the latent alone (docs/speed.md), batched with
  each image its own problem (`unmask.lbfgs`). The first half of the steps compares at 64 px, the
  rest at the loss resolution; the synthesis stops at the resolution being compared (`render=
  "skip"`), and what the skipped finer layers add there is measured with a full render every
  `refresh` steps and added back (a constant), so the fit is of the full image, not of a cheaper
  stand-in. The noise maps stay the seeded white noise they start as.
- `optimizer="adam"` (`ProjectSettings.official()`): NVIDIA's stylegan2-ada-pytorch projector.
  Adam (betas 0.9, 0.999) with a learning rate that ramps up over the first 5 % of the steps and
  down (cosine) over the last 25 %, Gaussian noise added to the latent with a scale of 0.05 x the
  spread of W fading out quadratically by 75 % of the steps, the per-layer noise maps optimised too
  under an autocorrelation penalty (weight 1e5, over a pyramid of each map down to 8x8) and
  renormalised to zero mean and unit variance after every step.

Common to both, and where they differ from NVIDIA's:
- The loss is the shift-tolerant LPIPS distance (`unmask.perceptual`, weights shipped offline) plus
  a masked pixel term, instead of NVIDIA's VGG16 LPIPS file (not reachable offline).
- Renders are compared as a photo shows them, clipped to [-1, 1] (`displayed`).
- Masked faces: a per-image `mask` (True = hidden by the face mask) is left out of the loss. Before
  each comparison the hidden pixels of the photo are replaced by the current generated pixels, so
  no feature, however wide its receptive field, sees what the face mask looked like; the perceptual
  and pixel terms are also weighted to the visible pixels only.
- Several images are projected in one batch, each with its own latent, noise maps, mask and random
  stream (seeded per image), so an image's result does not depend on what it was batched with.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from unmask.errors import UnmaskError
from unmask.images import to_tensor, to_uint8, write_atomic

SPACES = ("w", "w+")
RENDERS = ("skip", "full")
OPTIMIZERS = ("lbfgs", "adam")

StepCallback = Callable[[int, int, float], None]
"""Receives (step, total steps, loss summed over the batch) after every step."""


@dataclass(frozen=True)
class ProjectSettings:
    """Every knob of `project`; the defaults are the fast ones, documented and measured in
    docs/stylegan.md and docs/speed.md. `ProjectSettings.official()` gives NVIDIA's projector."""

    space: str = "w"  # "w": one latent for every layer (official); "w+": one per style input
    optimizer: str = "lbfgs"  # "lbfgs": fast, latent only; "adam": the official schedule, latent + noise maps
    steps: int = 40  # batched forward + backward passes (official: 1000 Adam steps)
    loss_resolution: int = 256  # the official projector's; capped at the generator's resolution
    render: str = "skip"  # "skip": synthesise only up to the loss resolution (docs/speed.md); "full": official
    perceptual: str = "alex"  # shift-tolerant LPIPS backbone: "alex" or "vgg"
    pixel_weight: float = 10.0  # weight of the masked mean squared error on [-1, 1] images (official: 0)
    # L-BFGS only: the first `coarse_fraction` of the steps compare at `coarse_resolution` px; with the
    # render skipped, the finer layers' part of the image is re-measured every `refresh` steps (0: never).
    coarse_resolution: int = 64
    coarse_fraction: float = 0.5
    refresh: int = 5
    # Adam only (the official schedule and noise-map penalty):
    noise_weight: float = 1e5
    initial_lr: float = 0.1
    lr_rampup: float = 0.05
    lr_rampdown: float = 0.25
    latent_noise: float = 0.05  # official initial_noise_factor (x the spread of W)
    latent_noise_ramp: float = 0.75
    w_avg_samples: int = 10_000

    def __post_init__(self) -> None:
        for name, what, allowed in (("space", "latent space", SPACES), ("optimizer", "optimizer", OPTIMIZERS),
                                    ("render", "render mode", RENDERS)):
            if getattr(self, name) not in allowed:
                raise UnmaskError(f"unknown {what} '{getattr(self, name)}'; choose one of: {', '.join(allowed)}")
        if self.steps < 1:
            raise UnmaskError(f"the number of projection steps must be at least 1, got {self.steps}")
        if not 0.0 <= self.coarse_fraction < 1.0:
            raise UnmaskError(f"coarse_fraction must be in [0, 1), got {self.coarse_fraction}")

    @classmethod
    def official(cls, **changes) -> "ProjectSettings":
        """NVIDIA's projector as closely as `project` goes: Adam for 1000 steps on W and the noise
        maps, full render, VGG LPIPS (the shift-tolerant one), no pixel term."""
        return cls(optimizer="adam", steps=1000, render="full", perceptual="vgg", pixel_weight=0.0).replace(**changes)

    def replace(self, **changes) -> "ProjectSettings":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        """JSON-able record of the settings."""
        return dataclasses.asdict(self)


@dataclass
class Projection:
    """The result of projecting N images.

    ws: (N, num_ws, w_dim) float32 latents (for space "w" every row of one image is the same).
    noise: one (N, 1, r, r) float32 map per noise input of the synthesis network, in its order.
    losses: (steps, N) float64, each image's loss at every step (lbfgs: the lowest so far in its stage).
    image: (N, 3, R, R) float32 in [-1, 1], the generator's full-resolution render of `ws` + `noise`.
    """

    ws: torch.Tensor
    noise: list[torch.Tensor]
    losses: np.ndarray
    image: torch.Tensor

    def __len__(self) -> int:
        return self.ws.shape[0]

    def select(self, index: int) -> "Projection":
        """The projection of image `index` alone (a batch of 1)."""
        pick = slice(index, index + 1)
        return Projection(self.ws[pick], [n[pick] for n in self.noise], self.losses[:, pick], self.image[pick])

    @staticmethod
    def stack(items: Sequence["Projection"]) -> "Projection":
        """Concatenate projections of the same generator (and step count) along the batch."""
        steps = min(len(p.losses) for p in items)
        return Projection(
            torch.cat([p.ws for p in items]),
            [torch.cat(maps) for maps in zip(*(p.noise for p in items))],
            np.concatenate([p.losses[len(p.losses) - steps:] for p in items], axis=1),
            torch.cat([p.image for p in items]),
        )

    def save(self, path: str | Path, protect: Sequence[str | Path] = ()) -> Path:
        """Write an .npz (atomically): `ws`, `noise_0`..`noise_{k-1}`, `losses`, `image` (uint8 N,R,R,3)."""
        arrays = {"ws": self.ws.detach().cpu().numpy(), "losses": self.losses, "image": to_uint8(self.image)}
        arrays.update({f"noise_{i}": n.detach().cpu().numpy() for i, n in enumerate(self.noise)})
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return write_atomic(path, lambda handle: handle.write(buffer.getvalue()), protect=protect)

    @staticmethod
    def load(path: str | Path, device: str | torch.device | None = None) -> "Projection":
        """Read a file written by `save`; raises `UnmaskError` naming the file if it is not one."""
        try:
            with np.load(path, allow_pickle=False) as data:
                count = sum(1 for key in data.files if key.startswith("noise_"))
                noise = [torch.from_numpy(data[f"noise_{i}"]).to(device) for i in range(count)]
                return Projection(
                    torch.from_numpy(data["ws"]).to(device), noise, data["losses"],
                    to_tensor(np.array(data["image"]), device),  # a writable copy
                )
        except (OSError, KeyError, ValueError) as exc:
            raise UnmaskError(f"not a projection file written by unmask ({exc})", path) from None


def learning_rate(t: float, settings: ProjectSettings) -> float:
    """The official schedule at progress `t` in [0, 1): linear ramp-up, cosine ramp-down."""
    ramp = min(1.0, (1.0 - t) / settings.lr_rampdown)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    return settings.initial_lr * ramp * min(1.0, t / settings.lr_rampup)


def latent_noise_scale(t: float, w_std: float, settings: ProjectSettings) -> float:
    """Std of the noise added to the latent at progress `t`: 0.05 w_std (1 - t / 0.75)^2, then 0."""
    return w_std * settings.latent_noise * max(0.0, 1.0 - t / settings.latent_noise_ramp) ** 2


def noise_regularization(noise: Sequence[torch.Tensor]) -> torch.Tensor:
    """Official noise penalty per image (N,): squared mean autocorrelation (one pixel right and
    down, wrapping) of every map, at every level of its 2x2 average pyramid down to 8x8."""
    total = 0.0
    for level in noise:  # (N, 1, r, r)
        while True:
            total = total + (level * torch.roll(level, 1, dims=3)).mean(dim=(1, 2, 3)).square()
            total = total + (level * torch.roll(level, 1, dims=2)).mean(dim=(1, 2, 3)).square()
            if level.shape[2] <= 8:
                break
            level = F.avg_pool2d(level, 2)
    return total


_W_STATS: "weakref.WeakKeyDictionary[torch.nn.Module, dict[int, tuple[torch.Tensor, float]]]" = (
    weakref.WeakKeyDictionary()
)


@torch.no_grad()
def w_stats(G, samples: int = 10_000) -> tuple[torch.Tensor, float]:
    """Mean (w_dim,) and spread (a float: root mean squared distance to the mean) of W, from
    `samples` mapped z drawn with the official fixed seed (123). Cached per generator."""
    cache = _W_STATS.setdefault(G, {})
    if samples not in cache:
        z = torch.from_numpy(np.random.RandomState(123).randn(samples, G.z_dim)).float()
        device = _device(G)
        w = torch.cat([G.mapping(chunk.to(device), None)[:, 0] for chunk in z.split(2048)])
        mean = w.mean(dim=0)
        cache[samples] = (mean, float((w - mean).square().sum(dim=1).mean().sqrt()))
    return cache[samples]


def project(
    G,
    images: torch.Tensor | np.ndarray,
    masks: torch.Tensor | np.ndarray | Sequence[np.ndarray | None] | None = None,
    settings: ProjectSettings = ProjectSettings(),
    seed: int = 0,
    progress: bool | StepCallback = False,
) -> Projection:
    """Project aligned faces into the latent space of generator `G`.

    images: uint8 (N, R, R, 3) / (R, R, 3) arrays, or a float tensor (N, 3, R, R) in [-1, 1], at the
        generator's resolution R (aligned like its training data).
    masks: per image, a bool (R, R) array with True = hidden (left out of the loss), or None for a
        fully visible image; or one bool (N, R, R) array/tensor.
    progress: True shows a tqdm bar with the loss; a callable receives (step, steps, loss).
    Returns a `Projection`. Deterministic for a given seed (per image, whatever the batch).
    """
    device = _device(G)
    target = image_tensor(images, G.resolution).to(device)
    count = len(target)
    photos = Photos(target, visible_weights(masks, count, G.resolution, device),
                    loss_network(settings.perceptual, device))
    w_avg, w_std = w_stats(G, settings.w_avg_samples)
    rngs = [_generator(seed, device) for _ in range(count)]
    rows = G.num_ws if settings.space == "w+" else 1
    start = w_avg.detach().reshape(1, 1, -1).repeat(count, rows, 1)
    shapes = [tuple(buf.shape[-2:]) for buf in G.synthesis.noise_buffers()]
    noise = [torch.stack([_randn((1, *s), g, device) for g in rngs]) for s in shapes]

    losses = np.zeros((settings.steps, count))
    bar = progress_bar(settings.steps, progress)

    def tick(step: int, loss: torch.Tensor, dist: torch.Tensor | None = None) -> None:
        losses[step] = loss.detach().cpu().numpy()
        report_step(bar, progress, step, settings.steps, float(losses[step].sum()),
                    None if dist is None else float(dist.detach().sum()))

    with _frozen(G):
        if settings.optimizer == "adam":
            w, noise = _adam(G, photos, start, noise, rngs, w_std, settings, tick)
        else:
            with bound_noise(G, noise):
                w = _lbfgs(G, photos, start, w_std, settings, tick)
        ws = w.expand(-1, G.num_ws, -1).clone()
        image = synthesize(G, ws, noise)
    if bar is not None:
        bar.close()
    return Projection(ws, noise, losses, image)


@dataclass
class Photos:
    """The faces being projected, at full resolution, and the loss network that compares them.

    images: (N, 3, R, R) in [-1, 1]; visible: (N, 1, R, R) with 1 = visible, or None (all visible).
    """

    images: torch.Tensor
    visible: torch.Tensor | None
    distance: Callable
    _levels: dict = dataclasses.field(default_factory=dict)  # res -> `at(res)`, made once

    def at(self, res: int) -> tuple[torch.Tensor, torch.Tensor | None, list[torch.Tensor] | None]:
        """(images, visible, encoded images or None) at res x res; the encoding only when nothing is
        hidden (then the target is fixed and is encoded once)."""
        target = downsample(self.images, res).clamp(-1.0, 1.0)
        visible = downsample_visible(self.visible, res)
        with torch.no_grad():
            features = self.distance.encode(target) if visible is None else None
        return target, visible, features

    def loss(self, synth: torch.Tensor, res: int, pixel_weight: float) -> torch.Tensor:
        """Image loss (N,) of renders (N, 3, res, res) (already `displayed`) against the photos."""
        if res not in self._levels:
            self._levels[res] = self.at(res)
        target, visible, features = self._levels[res]
        return image_loss(self.distance, synth, target, visible, pixel_weight, features)


def _adam(G, photos: Photos, start: torch.Tensor, noise: list[torch.Tensor], rngs, w_std: float,
          settings: ProjectSettings, tick) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The official projector: Adam on the latent (N, rows, w_dim) and the noise maps, with the
    learning-rate and latent-noise schedules and the noise penalty. Returns (latent, noise maps)."""
    res = min(settings.loss_resolution, G.resolution)
    until = _stop_at(G, res, settings)
    w_opt = start.clone().requires_grad_(True)
    noise = [level.clone().requires_grad_(True) for level in noise]
    optimizer = torch.optim.Adam([w_opt, *noise], betas=(0.9, 0.999), lr=settings.initial_lr)
    with bound_noise(G, noise):
        for step in range(settings.steps):
            t = step / settings.steps
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(t, settings)
            scale = latent_noise_scale(t, w_std, settings)
            jitter = torch.stack([_randn(tuple(w_opt.shape[1:]), g, w_opt.device) for g in rngs]) * scale
            ws = (w_opt + jitter).expand(-1, G.num_ws, -1)
            synth = displayed(downsample(G.synthesis(ws, noise_mode="const", until_resolution=until), res))
            dist = photos.loss(synth, res, settings.pixel_weight)
            loss = dist + settings.noise_weight * noise_regularization(noise)
            optimizer.zero_grad(set_to_none=True)
            loss.sum().backward()
            optimizer.step()
            with torch.no_grad():
                for level in noise:
                    level -= level.mean(dim=(1, 2, 3), keepdim=True)
                    level *= level.square().mean(dim=(1, 2, 3), keepdim=True).rsqrt()
            tick(step, loss, dist)
    return w_opt.detach(), [level.detach() for level in noise]


def _stop_at(G, res: int, settings: ProjectSettings) -> int | None:
    """Where the synthesis stops when comparing at res px: res with `render="skip"` below the
    generator's resolution, else None (the full render)."""
    return res if settings.render == "skip" and res < G.resolution else None


def lbfgs_stages(settings: ProjectSettings, resolution: int) -> list[tuple[int, int]]:
    """(loss resolution, steps) of each L-BFGS stage for a generator of `resolution` px: the coarse
    stage (`coarse_fraction` of the steps at `coarse_resolution`), then the rest at the loss resolution."""
    final = min(settings.loss_resolution, resolution)
    coarse = min(settings.coarse_resolution, final)
    first = round(settings.coarse_fraction * settings.steps) if coarse < final else 0
    return [(r, n) for r, n in ((coarse, first), (final, settings.steps - first)) if n > 0]


def _lbfgs(G, photos: Photos, start: torch.Tensor, w_std: float, settings: ProjectSettings,
           tick) -> torch.Tensor:
    """L-BFGS on the latent (N, rows, w_dim), coarse to fine, with G's noise inputs as they are
    bound. Every step is one batched forward + backward pass. Returns the latent."""
    from unmask.lbfgs import BatchedLBFGS

    count, rows, w_dim = start.shape
    x = start.reshape(count, -1)
    step = 0
    for res, steps in lbfgs_stages(settings, G.resolution):
        until = _stop_at(G, res, settings)
        correct = until is not None and settings.refresh > 0
        optimizer = BatchedLBFGS(x, first_step=0.1 * w_std * math.sqrt(rows))
        residual = None
        for i in range(steps):
            if correct and i % settings.refresh == 0:  # re-measure the skipped layers at the best points
                residual, values = _residual(G, photos, optimizer.best(), rows, res, until, settings)
                if i > 0:
                    optimizer.rebase(values)
            w = optimizer.trial().reshape(count, rows, w_dim).requires_grad_(True)
            synth = downsample(G.synthesis(w.expand(-1, G.num_ws, -1), noise_mode="const", until_resolution=until), res)
            dist = photos.loss(displayed(synth if residual is None else synth + residual), res, settings.pixel_weight)
            (grad,) = torch.autograd.grad(dist.sum(), w)
            optimizer.tell(dist.detach(), grad.reshape(count, -1))
            tick(step, optimizer.best_value())
            step += 1
        x = optimizer.best()
    return x.reshape(count, rows, w_dim)


@torch.no_grad()
def _residual(G, photos: Photos, x: torch.Tensor, rows: int, res: int, until: int,
              settings: ProjectSettings) -> tuple[torch.Tensor, torch.Tensor]:
    """What the skipped finer layers add at res px for latents x (N, rows * w_dim): the full render
    area-downsampled minus the render stopped at res, (N, 3, res, res); and the exact loss (N,) there."""
    ws = x.reshape(x.shape[0], rows, -1).expand(-1, G.num_ws, -1)
    full, skip = G.synthesis.with_skip_image(ws, until)  # one pass gives both
    full = downsample(full, res)
    residual = full - skip
    return residual, photos.loss(displayed(full), res, settings.pixel_weight)


def synthesize(G, ws: torch.Tensor, noise: Sequence[torch.Tensor] | None = None,
               until_resolution: int | None = None) -> torch.Tensor:
    """Render latents (N, num_ws, w_dim) with per-image noise maps (each (N, 1, r, r), e.g. a
    `Projection`'s; None: the generator's own constant noise). Returns (N, 3, r, r) in [-1, 1]-ish."""
    with torch.no_grad(), contextlib.ExitStack() as stack:
        if noise is not None:
            stack.enter_context(bound_noise(G, noise))
        return G.synthesis(ws, noise_mode="const", until_resolution=until_resolution)


@contextlib.contextmanager
def bound_noise(G, noise: Sequence[torch.Tensor]) -> Iterator[None]:
    """Within the block, G's constant noise inputs are the given per-image maps (each (N, 1, r, r),
    broadcast over channels); G's own buffers are put back afterwards, untouched."""
    slots = _noise_slots(G)
    if len(slots) != len(noise):
        raise ValueError(f"generator has {len(slots)} noise inputs, got {len(noise)} maps")
    saved = [buffers[name] for buffers, name in slots]
    try:
        for (buffers, name), level in zip(slots, noise):
            if tuple(level.shape[-2:]) != tuple(buffers[name].shape[-2:]):
                raise ValueError(f"noise map {tuple(level.shape)} does not fit {tuple(buffers[name].shape)}")
            buffers[name] = level
        yield
    finally:
        for (buffers, name), original in zip(slots, saved):
            buffers[name] = original


def _noise_slots(G) -> list[tuple[dict, str]]:
    """(module._buffers, name) of every constant noise buffer of G.synthesis, in noise order."""
    wanted = {id(buf): i for i, buf in enumerate(G.synthesis.noise_buffers())}
    slots: list = [None] * len(wanted)
    for module in G.synthesis.modules():
        for name, buf in module._buffers.items():
            if buf is not None and id(buf) in wanted:
                slots[wanted[id(buf)]] = (module._buffers, name)
    if any(slot is None for slot in slots):
        raise RuntimeError("noise_buffers() returned tensors that are not buffers of the synthesis network")
    return slots


def displayed(x: torch.Tensor) -> torch.Tensor:
    """x clipped to [-1, 1], as a saved photo shows it; the gradient passes as if unclipped
    (straight-through), so a pixel pushed beyond the range is still pulled back by the loss."""
    return x + (x.clamp(-1.0, 1.0) - x).detach()


def fill_hidden(target: torch.Tensor, synth: torch.Tensor, visible: torch.Tensor | None) -> torch.Tensor:
    """The target with its hidden pixels replaced by the (detached) generated ones, so that no loss
    sees what was hidden. target, synth (N, 3, r, r); visible (N, 1, r, r) with 1 = visible, or None."""
    return target if visible is None else visible * target + (1.0 - visible) * synth.detach()


def masked_mse(synth: torch.Tensor, target: torch.Tensor, visible: torch.Tensor | None) -> torch.Tensor:
    """Mean squared error (N,) over the visible pixels (all when `visible` is None), channels averaged."""
    sq = (synth - target).square().mean(dim=1, keepdim=True)
    if visible is None:
        return sq.mean(dim=(1, 2, 3))
    return (sq * visible).sum(dim=(1, 2, 3)) / visible.sum(dim=(1, 2, 3)).clamp_min(1.0)


def image_loss(distance, synth: torch.Tensor, target: torch.Tensor, visible: torch.Tensor | None,
               pixel_weight: float, target_features: list[torch.Tensor] | None = None) -> torch.Tensor:
    """Perceptual + pixel loss per image (N,), blind to the hidden pixels of the target.
    `target_features`: `distance.encode(target)` when there is no mask, to encode it only once."""
    target = fill_hidden(target, synth, visible)
    if target_features is not None and visible is None:
        loss = distance.compare(distance.encode(synth), target_features)
    else:
        loss = distance(synth, target, visible)
    return loss + pixel_weight * masked_mse(synth, target, visible) if pixel_weight else loss


def loss_network(net: str, device: torch.device):
    """The shared, cached perceptual distance (`unmask.perceptual`) of backbone `net` on `device`."""
    from unmask.perceptual import perceptual

    return perceptual(net, device)


def image_tensor(images, resolution: int) -> torch.Tensor:
    """uint8 arrays or a [-1, 1] tensor -> float (N, 3, R, R); checks the size."""
    tensor = images.float() if isinstance(images, torch.Tensor) else to_tensor(np.asarray(images))
    if tensor.dim() == 3:
        tensor = tensor[None]
    if tensor.shape[1:] != (3, resolution, resolution):
        raise UnmaskError(
            f"image of shape {tuple(tensor.shape[1:])} does not fit the generator: align the face at "
            f"{resolution}x{resolution} first"
        )
    return tensor


def visible_weights(masks, count: int, resolution: int, device) -> torch.Tensor | None:
    """(N, 1, R, R) float, 1 = visible, from the `project` masks argument (None: all visible)."""
    if masks is None:
        return None
    if isinstance(masks, (torch.Tensor, np.ndarray)):
        masks = list(masks)
    if len(masks) != count:
        raise ValueError(f"{len(masks)} masks for {count} images")
    planes = []
    for mask in masks:
        hidden = torch.zeros(resolution, resolution) if mask is None else torch.as_tensor(np.asarray(mask))
        if hidden.shape != (resolution, resolution):
            raise UnmaskError(f"mask of shape {tuple(hidden.shape)} does not fit a {resolution} px face")
        planes.append(1.0 - hidden.float())
    return torch.stack(planes)[:, None].to(device)


def downsample(x: torch.Tensor, res: int) -> torch.Tensor:
    """Area-average (N, C, H, W) down to res x res (the official projector's resize); no-op if equal."""
    return x if x.shape[-1] == res else F.interpolate(x, size=(res, res), mode="area")


def downsample_visible(visible: torch.Tensor | None, res: int) -> torch.Tensor | None:
    """Visibility weights at res x res; a pixel partly hidden at full resolution counts as hidden."""
    return None if visible is None else (downsample(visible, res) > 0.999).float()


def _device(G) -> torch.device:
    return next(G.parameters()).device


def _generator(seed: int, device: torch.device) -> torch.Generator:
    rng = torch.Generator(device=device)
    rng.manual_seed(seed)
    return rng


def _randn(shape: tuple, rng: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.randn(shape, generator=rng, device=device)


@contextlib.contextmanager
def _frozen(G) -> Iterator[None]:
    """G's parameters stop requiring gradients within the block (then back as they were)."""
    flags = [p.requires_grad for p in G.parameters()]
    G.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(G.parameters(), flags):
            p.requires_grad_(flag)


def progress_bar(total: int, progress):
    """A tqdm bar over `total` steps when `progress` is True, else None."""
    if progress is not True:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="projecting", unit="step", leave=False, disable=None)  # None: only on a terminal


def report_step(bar, progress, step: int, total: int, loss: float, dist: float | None = None) -> None:
    """Advance the bar (showing the loss, and the image distance without the noise penalty when
    given), or call the `progress` callback, after step `step`."""
    if bar is not None:
        shown = {"dist": f"{dist:.4f}"} if dist is not None else {}
        bar.set_postfix(**shown, loss=f"{loss:.4f}", refresh=False)
        bar.update(1)
    elif callable(progress):
        progress(step + 1, total, loss)
