"""Issue 6 in one command: how fast and how good `--method stylegan` is on this CPU.

Prints, each case in its own process (so peak memory is its own), with the load average:
1. `project` timings at the FFHQ 256 and 1024 architectures: seconds per step of the official
   settings (`ProjectSettings.official()`: Adam, full-resolution render area-downsampled to 256,
   VGG, one image), and the whole projection with the fast defaults (target + reference in one
   batch, all default steps: coarse stage, fine stage and the full renders of `refresh`);
2. the end-to-end `unmask run --method stylegan` at 1024 with the DEFAULT settings (random weights
   saved as a temporary own-format checkpoint, a real photo pair from ../shared/data/people, both
   faces projected, composite and paste-back included) and the peak RSS of that process;
3. projection quality on generator-made targets (photos, uint8, of images the random generator
   itself rendered from random w, so a perfect projection exists): PSNR and alex perceptual
   distance of the final full-resolution render, fast defaults next to the official settings.

Architectures (random weights, fp32, 8 mapping layers, conv_clamp 256 as num_fp16_res=4 implies):
1024 = config-f (channel_base 32768, channel_max 512); 256 = stylegan2-ada "paper256" (NGC ffhq-256,
channel_base 16384); "proxy128": a 128 px generator (channel_base 1024, channel_max 128) with its
loss at 32 px (the 4x gap of 1024 -> 256), cheap enough for the official 1000 steps. Every random
generator gets a trained one's output scale first (`unmask.gan.picture_scale`: as initialised, 87 %
of a 1024 image lies outside [-1, 1], so a photo of it is mostly black and white); the graph, and so
the timing, is unchanged. Random weights remain a weak proxy for FFHQ.

    python benchmarks/bench_speed.py                       # everything (about 1.5 hours, mostly the official 256 run)
    python benchmarks/bench_speed.py --only steps,run      # parts: steps, run, quality
    python benchmarks/bench_speed.py --only quality --quality-arch proxy128 --targets 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEOPLE = ROOT.parent / "shared" / "data" / "people"
# name -> (resolution, channel_base, channel_max, loss resolution)
ARCHS = {"256": (256, 16384, 512, 256), "1024": (1024, 32768, 512, 256), "proxy128": (128, 1024, 128, 32)}


def _load() -> str:
    return "load %.1f" % os.getloadavg()[0]


def _peak_gb(who: int = resource.RUSAGE_SELF) -> float:
    return round(resource.getrusage(who).ru_maxrss / 2**20, 2)  # KiB on Linux


def _generator(arch: str):
    import torch

    from unmask.gan import Generator, GeneratorConfig
    from unmask.gan.picture_scale import rescale_to_rgb

    res, base, top, _ = ARCHS[arch]
    torch.manual_seed(0)
    cfg = GeneratorConfig(resolution=res, channel_base=base, channel_max=top, mapping_layers=8, conv_clamp=256.0)
    return rescale_to_rgb(Generator(cfg).eval().requires_grad_(False))


def official_settings(loss_resolution: int = 256):
    """NVIDIA's projector as closely as `project` goes: Adam, 1000 steps, W, full render, VGG, no pixel term."""
    from unmask.project import ProjectSettings

    return ProjectSettings.official(loss_resolution=loss_resolution)


def fast_settings(loss_resolution: int = 256):
    """The fast settings: the defaults of `ProjectSettings` (at the given loss resolution)."""
    from unmask.project import ProjectSettings

    return ProjectSettings(loss_resolution=loss_resolution)


def case_step(arch: str, which: str, steps: int) -> dict:
    """Timing of `project` on random images. "official": one image, median seconds per step after
    a warm-up step (`steps` timed); "fast": the default settings, target + reference in one batch,
    the whole projection (all default steps) timed."""
    import numpy as np

    from unmask.project import project, w_stats

    G = _generator(arch)
    w_stats(G)  # computed once per generator and cached: not part of a step
    batch, settings = (1, official_settings().replace(steps=steps + 1)) if which == "official" else (2, fast_settings())
    images = np.random.default_rng(0).integers(0, 256, (batch, G.resolution, G.resolution, 3), dtype=np.uint8)
    stamps = [time.perf_counter()]
    project(G, images, settings=settings, progress=lambda step, total, loss: stamps.append(time.perf_counter()))
    times = [b - a for a, b in zip(stamps[1:], stamps[2:])] if which == "official" else [stamps[-1] - stamps[0]]
    return {"median": round(statistics.median(times), 2), "min": round(min(times), 2), "n": len(times),
            "steps": settings.steps, "peak_gb": _peak_gb(), "load": _load()}


def case_run(arch: str, options: list[str]) -> dict:
    """`unmask run --method stylegan` with the `arch` generator (fresh process), its wall time and peak RSS."""
    import cv2
    import numpy as np

    from unmask.face import find_face
    from unmask.gan import save_generator
    from unmask.images import read_image, write_image

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        weights = save_generator(_generator(arch), folder / f"random{arch}.safetensors")
        target = PEOPLE / "p01" / "1.jpg"
        photo = read_image(target)
        points = find_face(photo).landmarks
        region = np.zeros(photo.shape[:2], np.uint8)
        hull = cv2.convexHull(np.concatenate([points[2:15], points[[29]]]).astype(np.int32))
        cv2.fillPoly(region, [hull], 255)
        mask = write_image(folder / "mask.png", region)
        command = [sys.executable, "-m", "unmask", "run", str(target), "-r", str(PEOPLE / "p01" / "2.jpg"),
                   "-o", str(folder / "out.jpg"), "--mask", str(mask), "--method", "stylegan",
                   "--weights", str(weights), "--json", str(folder / "run.json"), "--quiet",
                   "--option", "cache=false", *[x for o in options for x in ("--option", o)]]
        load = _load()
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        record = json.loads((folder / "run.json").read_text())
    completion = record.get("completion", {})
    return {"wall_s": round(wall, 1), "peak_gb": _peak_gb(resource.RUSAGE_CHILDREN), "load_start": load,
            "load_end": _load(), "stages": record.get("seconds"), "method_seconds": completion.get("seconds"),
            "projection": completion.get("projection")}


def case_quality(arch: str, which: str, targets: int, steps: int | None) -> dict:
    """Project `targets` generator-made images with the fast defaults or the official settings."""
    import numpy as np
    import torch

    from unmask.images import to_uint8
    from unmask.metrics import perceptual_distance, psnr
    from unmask.project import project

    G = _generator(arch)
    loss_res = ARCHS[arch][3]
    with torch.no_grad():
        z = torch.from_numpy(np.random.RandomState(2024).randn(targets, G.z_dim)).float()
        images = to_uint8(G.synthesis(G.mapping(z), noise_mode="const"))
    settings = {"official": official_settings(loss_res), "fast": fast_settings(loss_res),
                "fast-full": fast_settings(loss_res).replace(render="full")}[which]
    if steps:
        settings = settings.replace(steps=steps)
    log: list[tuple[int, float]] = []
    start = time.perf_counter()

    def progress(step: int, total: int, loss: float) -> None:
        if step % 50 == 0 or step == total:
            log.append((step, round(loss, 4)))
            print(json.dumps({"progress": which, "step": step, "loss": round(loss, 4),
                              "s": round(time.perf_counter() - start, 1), "load": _load()}), file=sys.stderr,
                  flush=True)

    result = project(G, images, settings=settings, seed=0, progress=progress)
    seconds = time.perf_counter() - start
    renders = to_uint8(result.image)
    scores = [(psnr(renders[i], images[i]), perceptual_distance(renders[i], images[i])) for i in range(targets)]
    return {"arch": arch, "which": which, "settings": settings.as_dict(), "targets": targets,
            "psnr_db": [round(s[0], 2) for s in scores], "lpips_alex": [round(s[1], 4) for s in scores],
            "mean_psnr_db": round(float(np.mean([s[0] for s in scores])), 2),
            "mean_lpips_alex": round(float(np.mean([s[1] for s in scores])), 4),
            "seconds": round(seconds, 1), "loss_log": log, "load": _load()}


def _child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _run_child(args: list[str]) -> dict:
    import torch

    torch.set_num_threads(2)
    kind, *rest = args
    if kind == "step":
        return case_step(rest[0], rest[1], int(rest[2]))
    if kind == "run":
        return case_run(rest[0], rest[1:])
    return case_quality(rest[0], rest[1], int(rest[2]), int(rest[3]) or None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="steps,run,quality", help="comma-separated: steps, run, quality")
    parser.add_argument("--steps", type=int, default=3, help="timed official steps per architecture (after 1 warm-up)")
    parser.add_argument("--archs", default="256,1024", help="architectures of the per-step timings")
    parser.add_argument("--run-archs", default="1024", help="architectures of the end-to-end runs")
    parser.add_argument("--run-option", action="append", default=[],
                        help="extra method option KEY=VALUE for the end-to-end run (default: none = defaults)")
    parser.add_argument("--quality-arch", default="256", choices=sorted(ARCHS))
    parser.add_argument("--targets", type=int, default=2, help="generator-made targets in the quality test")
    parser.add_argument("--official-steps", type=int, default=0, help="override the official 1000 steps (0: keep)")
    parser.add_argument("--skip-vs-full", type=int, default=0,
                        help="also compare the fast settings with render=full, at this many steps (0: no)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_run_child(args.child)))
        return
    parts = set(args.only.split(","))
    print(f"CPU (2 cores, shared), fp32, torch threads 2, random weights; {_load()} at start", flush=True)
    if "steps" in parts:
        for arch in args.archs.split(","):
            plain = _child("step", arch, "official", str(args.steps))
            fast = _child("step", arch, "fast", "0")
            print(f"{arch} arch: official settings (Adam, full render, VGG, 1 image) {plain['median']} s per step "
                  f"(min {plain['min']}, {plain['load']}, peak {plain['peak_gb']} GB) -> 1000 steps x 2 photos "
                  f"= {plain['median'] * 2000 / 60:.0f} min; fast defaults ({fast['steps']} steps, target + "
                  f"reference in one batch) {fast['median']} s for both = {fast['median'] / fast['steps']:.2f} s "
                  f"per step ({fast['load']}, peak {fast['peak_gb']} GB)", flush=True)
    for arch in args.run_archs.split(",") if "run" in parts else []:
        run = _child("run", arch, *args.run_option)
        print(f"{arch} `unmask run --method stylegan` {' '.join(args.run_option) or '(defaults)'}: {run['wall_s']} s "
              f"wall, peak RSS {run['peak_gb']} GB ({run['load_start']} -> {run['load_end']}); stages "
              f"{run['stages']}; method {run['method_seconds']}; settings {run['projection']}", flush=True)
    if "quality" in parts:
        cases = [("fast", 0), ("official", args.official_steps)]
        if args.skip_vs_full:
            cases += [("fast", args.skip_vs_full), ("fast-full", args.skip_vs_full)]
        for which, steps in cases:
            q = _child("quality", args.quality_arch, which, str(args.targets), str(steps))
            print(f"quality {q['arch']} arch, {which} ({q['settings']['steps']} steps, render "
                  f"{q['settings']['render']}, {q['settings']['perceptual']}, pixel {q['settings']['pixel_weight']}, "
                  f"loss at {q['settings']['loss_resolution']} px): PSNR {q['mean_psnr_db']} dB {q['psnr_db']}, "
                  f"alex distance {q['mean_lpips_alex']} {q['lpips_alex']}; {q['seconds']} s, {q['load']}",
                  flush=True)


if __name__ == "__main__":
    main()
