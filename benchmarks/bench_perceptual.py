"""Time the shift-tolerant LPIPS distance on CPU (or CUDA): forward, and forward + backward to one
image as latent projection does (the other image's features encoded once), per network, image
size and batch. Peak memory is the process's maximum resident set size after each case.

    python benchmarks/bench_perceptual.py                      # alex and vgg, 256 px, batch 1 and 4
    python benchmarks/bench_perceptual.py --net alex --size 128 256 --threads 1 --repeats 5
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time

import torch

from unmask.perceptual import Perceptual


def _peak_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def _median_seconds(step, repeats: int) -> float:
    step()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench(net: str, size: int, batch: int, repeats: int, device: str) -> dict[str, float]:
    model = Perceptual(net, device)
    gen = torch.Generator().manual_seed(0)
    a = (torch.rand(batch, 3, size, size, generator=gen) * 2 - 1).to(device)
    b = (torch.rand(batch, 3, size, size, generator=gen) * 2 - 1).to(device)
    mask = torch.ones(batch, 1, size, size, device=device)
    with torch.no_grad():
        fixed = model.encode(b)

    def forward() -> None:
        with torch.no_grad():
            model(a, b)

    def projection_step() -> None:
        x = a.clone().requires_grad_(True)
        model.compare(model.encode(x), fixed, mask).sum().backward()

    return {"forward": _median_seconds(forward, repeats), "fwd+bwd": _median_seconds(projection_step, repeats),
            "peak_mib": _peak_mib()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--net", nargs="+", default=["alex", "vgg"], choices=["alex", "vgg"])
    parser.add_argument("--size", nargs="+", type=int, default=[256])
    parser.add_argument("--batch", nargs="+", type=int, default=[1, 4])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    print(f"{'net':<6}{'size':>6}{'batch':>7}{'forward s':>12}{'fwd+bwd s':>12}{'per image':>12}{'peak MiB':>10}")
    for net in args.net:
        for size in args.size:
            for batch in args.batch:
                r = bench(net, size, batch, args.repeats, args.device)
                print(f"{net:<6}{size:>6}{batch:>7}{r['forward']:>12.3f}{r['fwd+bwd']:>12.3f}"
                      f"{r['fwd+bwd'] / batch:>12.3f}{r['peak_mib']:>10.0f}")


if __name__ == "__main__":
    main()
