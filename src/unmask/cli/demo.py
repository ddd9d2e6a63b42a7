"""`unmask demo`: a complete example, offline, on photos the project makes itself."""

from __future__ import annotations

import time
from pathlib import Path

import click


@click.command("demo")
@click.option("--output", "-o", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              default=Path("unmask-demo"), show_default=True, help="Folder to write the example into.")
def demo(out_dir: Path) -> None:
    """Mask a public-domain photo that scikit-image ships (the astronaut), complete it from another
    view of the same face with the `warp` method, and write the inputs, result, panel and record.
    Needs no download."""
    from unmask.demo import run_demo

    start = time.perf_counter()
    paths = run_demo(out_dir, progress=lambda m: click.echo(f"[{time.perf_counter() - start:5.1f} s] {m}", err=True))
    for name, path in paths.items():
        click.echo(f"{name:>9}: {path}")
