"""`unmask batch` throughput with 1 and 2 worker processes (target: at least 1.7x with 2 on a 2-core
machine) and the client's memory over a long batch (target: flat, no growth with the count).

Inputs: one synthetic surgical mask painted on the first photo of every person of
../shared/data/people that has several photos; that person's other photos are the references. A
manifest lists these cases again and again under distinct target names (copies of the masked
photo), as many as asked.

Throughput: a process pool of N workers is started and warmed up on two targets, then times a
batch of `--targets` targets (`--method`, default warp); photos per minute = targets / wall time.
Memory: the client (this process) runs `--memory-targets` targets with the cheap `opencv-telea`
method on 2 workers while a thread samples its resident set size; printed are the peak after each
quarter of the batch (flat = the last quarter's peak no higher than the first's, within noise).

    python benchmarks/bench_batch.py [--targets 12] [--memory-targets 200] [--method warp]
    (0 skips a part)
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEOPLE = ROOT.parent / "shared" / "data" / "people"


def make_cases(folder: Path) -> list[tuple[Path, list[Path]]]:
    """(masked photo written into `folder`, its references) for every person with >= 2 photos."""
    from unmask.face import find_face
    from unmask.region import render_mask
    from unmask.images import read_image, write_image

    cases = []
    for person in sorted(p for p in PEOPLE.iterdir() if p.is_dir()):
        photos = sorted(person.glob("*.jpg"))
        if len(photos) < 2:
            continue
        image = read_image(photos[0])
        masked, _ = render_mask(image, find_face(image).landmarks, "surgical", 0)
        cases.append((write_image(folder / "cases" / f"{person.name}.jpg", masked), photos[1:]))
    return cases


def write_manifest(folder: Path, cases: list[tuple[Path, list[Path]]], count: int) -> Path:
    """A manifest of `count` targets (the cases repeated, each copy its own file) in `folder`."""
    rows = []
    for index in range(count):
        masked, references = cases[index % len(cases)]
        target = folder / "targets" / f"{index:04d}-{masked.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(masked, target)
        rows.append({"target": target.relative_to(folder).as_posix(),
                     "references": ";".join(str(p) for p in references)})
    path = folder / "manifest.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["target", "references"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def throughput(manifest: Path, warmup: Path, out: Path, workers: int, method: str) -> float:
    """Photos per minute of a warmed-up pool of `workers` processes on `manifest`."""
    from unmask.batch import ProcessPool, Settings, run_batch

    settings = Settings(method=method)
    with ProcessPool(workers) as pool:
        run_batch(warmup, out / "warmup", settings, pool, bars=False)
        start = time.perf_counter()
        summary = run_batch(manifest, out / "timed", settings, pool, bars=False)
        seconds = time.perf_counter() - start
    with (out / "timed" / "report.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["status"] != "done":
                print(f"  {row['target']}: {row['status']}: {row['error']}")
    return summary.ran * 60.0 / seconds


def client_memory(manifest: Path, out: Path, count: int) -> list[float]:
    """Peak resident MB of this process in each quarter of a `count`-target batch on 2 workers."""
    import psutil

    from unmask.batch import ProcessPool, Settings, run_batch

    process, samples, finished = psutil.Process(), [], threading.Event()

    def sample() -> None:  # (targets finished so far = record files written, resident MB)
        while not finished.is_set():
            records = out / "records"
            done = sum(1 for _ in records.rglob("*.json")) if records.is_dir() else 0
            samples.append((done, process.memory_info().rss / 2**20))
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    with ProcessPool(2) as pool:
        sampler.start()
        run_batch(manifest, out, Settings(method="opencv-telea"), pool, bars=False)
    finished.set()
    sampler.join()
    quarters = [[mb for n, mb in samples if q * count / 4 <= n < (q + 1) * count / 4 or (q == 3 and n >= count)]
                for q in range(4)]
    return [max(q) if q else float("nan") for q in quarters]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=12, help="targets per throughput run (0: skip)")
    parser.add_argument("--memory-targets", type=int, default=200, help="targets of the memory run (0: skip)")
    parser.add_argument("--method", default="warp", help="method of the throughput runs")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = make_cases(folder)
        if args.targets:
            warmup = write_manifest(folder / "warmup", cases[:2], 2)
            manifest = write_manifest(folder / "throughput", cases, args.targets)
            rates = {}
            for workers in (1, 2):
                rates[workers] = throughput(manifest, warmup, folder / f"out-{workers}", workers, args.method)
                print(f"{workers} worker{'s' if workers > 1 else ''}: {rates[workers]:.1f} photos/min "
                      f"({args.targets} targets, {args.method}, full-size photos)")
            print(f"speed-up with 2 workers: {rates[2] / rates[1]:.2f}x (target >= 1.7x)")
        if args.memory_targets:
            long = write_manifest(folder / "memory", cases, args.memory_targets)
            peaks = client_memory(long, folder / "out-memory", args.memory_targets)
            print(f"client peak RSS per quarter of {args.memory_targets} targets (MB): "
                  + ", ".join(f"{mb:.0f}" for mb in peaks)
                  + f"; growth first -> last quarter {peaks[-1] - peaks[0]:+.0f} MB")
    print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
