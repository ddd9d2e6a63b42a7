"""Projection speed on this CPU: time per step and peak memory at the 256 and 1024 architectures,
and a whole `unmask run --method stylegan`, next to what the official settings would cost.

Random weights in the FFHQ architectures (256: stylegan2-ada "paper256", channel base 16384;
1024: config-f, channel base 32768), fp32. Each configuration runs in its own process so that its
peak memory (max RSS) is its own. Per-step time is the median over `--steps` steps after one
warm-up step. The official projector's cost is its per-step time (full-resolution render, one
image) x 1000 steps x 2 photos: the step cost does not depend on the step number (same graph every
step), so this product is a measurement, not a guess.

    python benchmarks/bench_project.py [--steps 3] [--archs 256,1024] [--run-steps 20]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEOPLE = ROOT.parent / "shared" / "data" / "people"
ARCHS = {256: 16384, 1024: 32768}


def _generator(resolution: int):
    import torch

    from unmask.gan import Generator, GeneratorConfig

    torch.manual_seed(0)
    return Generator(GeneratorConfig(resolution=resolution, channel_base=ARCHS[resolution])).eval().requires_grad_(False)


def one_projection(resolution: int, render: str, batch: int, steps: int) -> dict:
    """Per-step seconds of `project` (median after a warm-up step) and this process's peak RSS."""
    import numpy as np

    from unmask.project import ProjectSettings, project, w_stats

    G = _generator(resolution)
    w_stats(G)  # once per generator and cached: not part of a step
    images = np.random.default_rng(0).integers(0, 256, (batch, resolution, resolution, 3), dtype=np.uint8)
    stamps = []
    project(G, images, settings=ProjectSettings(steps=steps + 1, render=render),
            progress=lambda step, total, loss: stamps.append(time.perf_counter()))
    per_step = statistics.median(b - a for a, b in zip(stamps, stamps[1:]))
    return {"resolution": resolution, "render": render, "batch": batch, "seconds_per_step": round(per_step, 2),
            "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}


def one_run(resolution: int, steps: int) -> dict:
    """A whole `unmask.complete(method="stylegan")` on a real photo pair with a drawn mask region."""
    import cv2
    import numpy as np

    from unmask import complete
    from unmask.face import find_face
    from unmask.gan import save_generator
    from unmask.images import read_image

    with tempfile.TemporaryDirectory() as tmp:
        weights = save_generator(_generator(resolution), Path(tmp) / f"random{resolution}.safetensors")
        photo = read_image(PEOPLE / "p02" / "1.jpg")
        points = find_face(photo).landmarks
        region = np.zeros(photo.shape[:2], np.uint8)
        cv2.fillPoly(region, [cv2.convexHull(np.concatenate([points[2:15], points[[29]]]).astype(np.int32))], 1)
        start = time.perf_counter()
        result = complete(photo, PEOPLE / "p02" / "3.jpg", method="stylegan", mask=region.astype(bool),
                          weights=str(weights), steps=steps, cache=False)
        total = time.perf_counter() - start
    info = result.record["completion"]
    return {"resolution": resolution, "steps": steps, "run_seconds": round(total, 1),
            "method_seconds": info["seconds"], "stage_seconds": result.record["seconds"],
            "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}


def _child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="timed steps per configuration")
    parser.add_argument("--archs", default="256,1024")
    parser.add_argument("--run-steps", type=int, default=20, help="projection steps of the whole-run timing")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        result = one_projection(int(rest[0]), rest[1], int(rest[2]), int(rest[3])) if kind == "step" else \
            one_run(int(rest[0]), int(rest[1]))
        print(json.dumps(result))
        return
    from unmask.project import ProjectSettings

    default_steps = ProjectSettings().steps
    print("CPU, fp32, random weights; timings are noisy on a shared machine")
    for res in (int(r) for r in args.archs.split(",")):
        official = _child(["step", str(res), "full", "1", str(args.steps)])
        print(f"{res} arch, official path (full {res} px render + area-downsample, 1 image): "
              f"{official['seconds_per_step']} s/step, peak {official['peak_rss_gb']} GB; "
              f"1000 steps x 2 photos = {official['seconds_per_step'] * 2000 / 60:.0f} min")
        for render in (("full", "skip") if res > 256 else ("full",)):
            ours = _child(["step", str(res), render, "2", str(args.steps)])
            print(f"{res} arch, render={render}, target + reference in one batch: {ours['seconds_per_step']} "
                  f"s/step, peak {ours['peak_rss_gb']} GB; default {default_steps} steps = "
                  f"{ours['seconds_per_step'] * default_steps / 60:.1f} min")
        run = _child(["run", str(res), str(args.run_steps)])
        print(f"{res} arch, whole `run --method stylegan` with {args.run_steps} steps: {run['run_seconds']} s "
              f"(method {run['method_seconds']}), peak {run['peak_rss_gb']} GB")


if __name__ == "__main__":
    main()
