"""`unmask web`: how soon the page answers after the command (target < 5 s), and a 12-megapixel
`warp` job through the page's `complete` endpoint against the same job on the command line
(target: at most 1.5 times as long).

The 12 MP case is bench_run.py's (a people/ photo upscaled, a synthetic surgical mask, another
photo of the same person as reference); the face-mask region is found, not given, in both. The
command line writes the same files as the page (result, panel, record) and is timed in a fresh
process, imports included; the endpoint is timed from the call to the result on the caller's
disk (upload and download included), on an app already running.

    python benchmarks/bench_web.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_run import make_inputs  # noqa: E402  (the same 12 MP case)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(port: int, tmp: Path) -> tuple[subprocess.Popen, float, float]:
    """Start `unmask web`; return the process, the wall seconds until its page answered and the
    CPU seconds it used until then (a number the machine's load does not inflate)."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "unmask", "web", "--port", str(port)],
                               env={**os.environ, "TMPDIR": str(tmp)}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                if response.status == 200:
                    return process, time.perf_counter() - start, cpu_seconds(process.pid)
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("unmask web exited") from None
            time.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from gradio_client import Client, handle_file

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ready, cpu = [], []
        for _ in range(args.repeats):
            process, seconds, used = start_app(free_port(), folder)
            ready.append(seconds)
            cpu.append(used)
            stop(process)
        print(f"ready: {', '.join(f'{s:.2f}' for s in ready)} s; median {statistics.median(ready):.2f} s (target < 5 s); "
              f"CPU used until then: median {statistics.median(cpu):.2f} s")

        target, _, reference = make_inputs(folder)
        cli, api = [], []
        for i in range(args.repeats):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "unmask", "run", str(target), "-r", str(reference), "-o",
                            str(folder / f"out{i}.jpg"), "--panel", str(folder / f"panel{i}.png"), "--json",
                            str(folder / f"run{i}.json"), "--method", "warp", "--quiet"],
                           check=True, stdout=subprocess.DEVNULL)
            cli.append(time.perf_counter() - start)
        port = free_port()
        process, _, _ = start_app(port, folder)
        try:
            client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=str(folder / "downloads"))
            for _ in range(args.repeats):
                start = time.perf_counter()
                client.predict(handle_file(str(target)), [handle_file(str(reference))], "warp", api_name="/complete")
                api.append(time.perf_counter() - start)
        finally:
            stop(process)
        c, a = statistics.median(cli), statistics.median(api)
        print(f"12 MP warp, command line (fresh process): {', '.join(f'{s:.2f}' for s in cli)} s; median {c:.2f} s")
        print(f"12 MP warp, page endpoint (running app):  {', '.join(f'{s:.2f}' for s in api)} s; median {a:.2f} s")
        print(f"ratio endpoint / command line: {a / c:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
