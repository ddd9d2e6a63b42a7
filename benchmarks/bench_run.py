"""End-to-end time of `unmask run --method warp` on a 12-megapixel photo (target: under 5 s).

A photo from ../shared/data/people is upscaled to 12 MP, given a synthetic surgical mask and
written to a temporary folder with its mask image; the reference is another photo of the same
person (with `--album`, a folder of all the person's other photos, ranked by the pipeline; `--tries`
sets how many of the best ranked the face is completed with, docs/references.md). Each repeat runs
the real command in a fresh process (Python start-up and imports included) and reads the per-stage
seconds from its JSON record.

    python benchmarks/bench_run.py [--repeats 3] [--detect-region] [--album [--tries N]]
"""

from __future__ import annotations

import argparse
import json
import statistics
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PEOPLE = ROOT.parent / "shared" / "data" / "people"
MEGAPIXELS = 12.0


def make_inputs(folder: Path) -> tuple[Path, Path, Path]:
    """(masked 12 MP target, its mask image, reference) written into `folder`."""
    from unmask.face import find_face
    from unmask.region.synthetic import render_mask
    from unmask.images import read_image, write_image

    photo = read_image(PEOPLE / "p02" / "1.jpg")
    scale = np.sqrt(MEGAPIXELS * 1e6 / (photo.shape[0] * photo.shape[1]))
    big = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    masked, region = render_mask(big, find_face(big).landmarks, "surgical", 0)
    target = write_image(folder / "masked_12mp.jpg", masked)
    mask = write_image(folder / "mask_12mp.png", region.astype(np.uint8) * 255)
    return target, mask, PEOPLE / "p02" / "3.jpg"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--detect-region", action="store_true", help="find the mask instead of passing --mask")
    parser.add_argument("--album", action="store_true", help="all the person's other photos as references")
    parser.add_argument("--tries", type=int, help="references to complete the face with (default: the method's)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        target, mask, reference = make_inputs(folder)
        if args.album:
            reference = folder / "album"
            reference.mkdir()
            for photo in sorted(PEOPLE.joinpath("p02").glob("*.jpg"))[1:]:  # all but the target's
                shutil.copy(photo, reference / photo.name)
        h, w = cv2.imread(str(target), cv2.IMREAD_REDUCED_GRAYSCALE_2).shape
        print(f"target {target.name}: about {2 * w}x{2 * h} px ({4 * w * h / 1e6:.1f} MP), reference {reference}")
        walls, records = [], []
        for i in range(args.repeats):
            out, record = folder / f"out{i}.jpg", folder / f"run{i}.json"
            command = [sys.executable, "-m", "unmask", "run", str(target), "-r", str(reference), "-o", str(out),
                       "--json", str(record), "--method", "warp", "--quiet"]
            if not args.detect_region:
                command += ["--mask", str(mask)]
            if args.tries is not None:
                command += ["--tries", str(args.tries)]
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            walls.append(time.perf_counter() - start)
            records.append(json.loads(record.read_text()))
            print(f"run {i + 1}: {walls[-1]:.2f} s wall; stages {records[-1]['seconds']}")
        stages = {k: statistics.median(r["seconds"][k] for r in records) for k in records[0]["seconds"]}
        print(f"median wall time (fresh process, imports included): {statistics.median(walls):.2f} s "
              f"(target < 5 s); crop {records[0]['crop_size']} px")
        print("median per stage (s): " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items()))


if __name__ == "__main__":
    main()
