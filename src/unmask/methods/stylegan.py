"""Method `stylegan` (the paper's): project the masked target and the unmasked reference into
StyleGAN2's latent space, mix their styles by resolution band (the target's pose at 4x4 and 8x8,
an expression face at 16x16, the reference's identity everywhere else), render, and Poisson-clone
the render into the face-mask region.

Beyond the paper: the target's projection ignores the mask region (or projects a target whose
region was first filled by another method, `prefill`), so the mask's bulge cannot widen the jaw;
optional pivotal tuning keeps personal details; projections are cached on disk, so trying other
mixing bands costs one render.
"""

from __future__ import annotations

import functools
import time
from typing import Any, Sequence

import numpy as np
import torch

from unmask.errors import UnmaskError
from unmask.methods.base import AlignedCase, Completion, Method, Progress

PREFILLS = ("none", "warp", "opencv-telea")


class StyleGANMethod(Method):
    """Complete a face by StyleGAN2 projection + style mixing (see the module docstring).

    Options: `weights` (zoo name or file, required), `optimizer` ("lbfgs", fast, the default |
    "adam", NVIDIA's projector: then steps, render, perceptual and pixel_weight default to the official
    settings), `steps`, `space` ("w" | "w+"), `render`
    ("skip" | "full"), `perceptual` ("alex" | "vgg"), `pixel_weight`, `prefill` ("none" | "warp" |
    "opencv-telea"), `pti_steps` (0 = no pivotal tuning), `pose_res` (e.g. "4,8"), `expression_res`
    (e.g. "16"), `cache` (reuse projections on disk), `cache_dir`, `device`. `size` is the
    generator's resolution.
    """

    name = "stylegan"

    def __init__(self, weights: str | None = None, optimizer: str = "lbfgs", steps: int | None = None, space: str = "w",
                 render: str | None = None, perceptual: str | None = None, pixel_weight: float | None = None,
                 prefill: str = "none", pti_steps: int = 0, pose_res: Any = (4, 8), expression_res: Any = (16,),
                 cache: bool = True, cache_dir: str | None = None, device: str | None = None):
        from unmask.latent_cache import LatentCache, model_id
        from unmask.mix import mix_plan, parse_resolutions
        from unmask.project import ProjectSettings

        if not weights:
            raise UnmaskError("method 'stylegan' needs generator weights: pass --weights with a model-zoo name "
                              "(see `unmask weights list`) or a checkpoint file")
        if prefill not in PREFILLS:
            raise ValueError(f"prefill must be one of {', '.join(PREFILLS)}, not {prefill!r}")
        self.weights = str(weights)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.G = _load_generator(self.weights, str(self.device))
        self.size = self.G.resolution
        defaults = ProjectSettings.official() if optimizer == "adam" else ProjectSettings()
        given = {"steps": steps, "render": render, "perceptual": perceptual, "pixel_weight": pixel_weight}
        given = {k: type(getattr(defaults, k))(v) for k, v in given.items() if v is not None}  # e.g. 3 -> 3.0
        self.settings = defaults.replace(optimizer=optimizer, space=space, **given)
        self.prefill = prefill
        self.pti_steps = int(pti_steps)
        self.pose_res = parse_resolutions(pose_res)
        self.expression_res = parse_resolutions(expression_res)
        mix_plan(self.G.num_ws, self.pose_res, self.expression_res, with_expression=True)  # checks the bands now
        self.cache = LatentCache(cache_dir) if cache else None
        self.model = model_id(self.G)

    def complete(self, case: AlignedCase, progress: Progress | None = None) -> Completion:
        """Project, mix, render, composite; see the module docstring."""
        from unmask.blend import composite_region, poisson_composite
        from unmask.images import to_uint8
        from unmask.mix import mix_noise, mix_styles
        from unmask.project import Projection, synthesize

        say = progress or (lambda message: None)
        if case.size != self.size:
            raise ValueError(f"the faces are aligned at {case.size} px, the generator needs {self.size} px")
        clock = time.perf_counter()
        target, target_mask = case.target, case.region
        if self.prefill != "none":
            from unmask.methods import make_method

            say(f"filling the region with '{self.prefill}' before projecting")
            target = make_method(self.prefill).complete(case).image
            target_mask = None
        faces = [(target, target_mask), (case.reference, None)]
        if case.expression is not None:
            faces.append((case.expression, None))
        projections, cached = self._project(faces, case.seed, say, progress is not None)
        seconds = {"project": time.perf_counter() - clock}

        G = self.G
        if self.pti_steps > 0:
            from unmask.tune import TuneSettings, pivotal_tuning

            say(f"pivotal tuning for up to {self.pti_steps} steps")
            G = pivotal_tuning(self.G, Projection.stack(projections), np.stack([f for f, _ in faces]),
                               [m for _, m in faces], TuneSettings(steps=self.pti_steps), seed=case.seed,
                               progress=progress is not None)
            seconds["tune"] = time.perf_counter() - clock - sum(seconds.values())

        say("mixing styles and rendering")
        expression = projections[2] if len(projections) > 2 else None
        ws = mix_styles(projections[0].ws, projections[1].ws, None if expression is None else expression.ws,
                        self.pose_res, self.expression_res)
        noise = mix_noise(projections[0].noise, projections[1].noise,
                          None if expression is None else expression.noise, self.pose_res, self.expression_res)
        mixed = to_uint8(synthesize(G, ws.to(self.device), [n.to(self.device) for n in noise]))[0]
        renders = [to_uint8(synthesize(G, p.ws.to(self.device), [n.to(self.device) for n in p.noise]))[0]
                   if G is not self.G else to_uint8(p.image)[0] for p in projections]

        say("compositing")
        image = poisson_composite(case.target, mixed, case.region)
        seconds["total"] = time.perf_counter() - clock
        steps = {"prefilled target": target} if self.prefill != "none" else {}
        steps.update({"target projection": renders[0], "reference projection": renders[1]})
        if expression is not None:
            steps["expression projection"] = renders[2]
        steps["mixed face"] = mixed
        info = {
            "weights": self.weights,
            "model_sha256": self.model,
            "resolution": self.size,
            "projection": self.settings.as_dict(),
            "prefill": self.prefill,
            "pti_steps": self.pti_steps,
            "pose_res": list(self.pose_res),
            "expression_res": list(self.expression_res) if expression is not None else [],
            "cached": cached,
            "final_loss": [round(float(p.losses[-1, 0]), 5) for p in projections],
            "seconds": {k: round(v, 2) for k, v in seconds.items()},
        }
        return Completion(image=image, changed=composite_region(case.region), steps=steps, info=info)

    def _project(self, faces: Sequence[tuple[np.ndarray, np.ndarray | None]], seed: int, say: Progress,
                 bar: bool) -> tuple[list, list[bool]]:
        """Projections (batches of 1) of every (image, mask), from the cache where possible; the
        missing ones are projected together in one batch."""
        from unmask.latent_cache import latent_key
        from unmask.project import project

        keys = [latent_key(img, mask, self.model, self.settings.as_dict(), seed) for img, mask in faces]
        found = [self.cache.get(key, self.device) if self.cache else None for key in keys]
        todo = [i for i, p in enumerate(found) if p is None]
        if todo:
            say(f"projecting {len(todo)} face(s) into the latent space ({self.settings.steps} steps, "
                f"space {self.settings.space.upper()})")
            batch = project(self.G, np.stack([faces[i][0] for i in todo]), [faces[i][1] for i in todo],
                            self.settings, seed=seed, progress=bar)
            for j, i in enumerate(todo):
                found[i] = batch.select(j)
                if self.cache is not None:
                    self.cache.put(keys[i], found[i])
        return found, [i not in todo for i in range(len(faces))]


@functools.lru_cache(maxsize=2)
def _load_generator(weights: str, device: str):
    from unmask.gan import load_generator

    return load_generator(weights, device)
