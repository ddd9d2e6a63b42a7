"""Time the StyleGAN2 synthesis network on CPU: forward, and forward + backward (to ws and the
noise inputs, as projection does), at the FFHQ 256 and 1024 architectures with random weights,
batch 1. Peak memory is the process's maximum resident set size (ru_maxrss) after each case, so
run one resolution per process for a clean number:

    python benchmarks/bench_gan.py                 # both resolutions, 3 repeats
    python benchmarks/bench_gan.py --res 256 --repeats 5 --threads 2
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time

import torch

from unmask.gan import Generator, GeneratorConfig

# FFHQ architectures: NGC/ada 256 ("paper256": channel_base 16384), 1024 (config-f: 32768).
ARCHS = {256: dict(channel_base=16384, conv_clamp=256.0), 1024: dict(channel_base=32768, conv_clamp=256.0)}


def _peak_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def bench(res: int, repeats: int) -> dict[str, float]:
    torch.manual_seed(0)
    G = Generator(GeneratorConfig(resolution=res, **ARCHS[res])).eval()
    G.requires_grad_(False)
    ws = G.mapping(torch.randn(1, G.z_dim)).detach()
    noises = G.synthesis.noise_buffers()

    def forward() -> None:
        with torch.no_grad():
            G.synthesis(ws, noise_mode="const")

    def forward_backward() -> None:
        w = ws.clone().requires_grad_(True)
        for n in noises:
            n.requires_grad_(True)
        G.synthesis(w, noise_mode="const").square().mean().backward()
        for n in noises:
            n.grad = None
            n.requires_grad_(False)

    out = {}
    for name, fn in (("forward", forward), ("forward+backward", forward_backward)):
        fn()  # warm-up (kernel selection, allocations)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        out[name] = statistics.median(times)
        out[name + " min"] = min(times)
    out["peak RSS MiB"] = _peak_mib()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--res", type=int, nargs="*", default=[256, 1024], choices=sorted(ARCHS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch 1, median of {args.repeats}")
    print(f"{'synthesis':>10} {'forward s':>10} {'fwd+bwd s':>10} {'(min)':>8} {'peak RSS MiB':>13}")
    for res in args.res:
        r = bench(res, args.repeats)
        print(f"{res:>10} {r['forward']:>10.2f} {r['forward+backward']:>10.2f} "
              f"{r['forward+backward min']:>8.2f} {r['peak RSS MiB']:>13.0f}", flush=True)


if __name__ == "__main__":
    main()
