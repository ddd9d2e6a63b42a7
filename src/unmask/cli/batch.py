"""`unmask batch`: complete every masked photo of an album or a manifest CSV, in parallel, resumably."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from unmask.methods import METHODS


@click.command("batch")
@click.argument("source", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path),
              help="Folder for the results (at each target's relative path), thumbnails and the report.")
@click.option("--method", "-m", type=click.Choice(list(METHODS)), default="warp", show_default=True,
              help="Completion method.")
@click.option("--workers", "-w", type=click.IntRange(min=1),
              help="Parallel processes on this machine (default: the cores; 1 = in this process).")
@click.option("--cluster", metavar="ADDRESS",
              help="A Dask scheduler (tcp://HOST:PORT) whose workers do the jobs; needs unmask[cluster].")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (stylegan).")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Any method option, repeatable (e.g. --option mirror=never).")
@click.option("--strip-location", is_flag=True,
              help="Leave the GPS location out of the results' EXIF (the rest of it is kept).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def batch(source: Path, output: Path, method: str, workers: int | None, cluster: str | None, seed: int,
          options: tuple[str, ...], strip_location: bool, quiet: bool) -> None:
    """Complete every target of INPUT into the folder --output, with a report.

    INPUT is an album, ALBUM/<person>/<photo> (each photo with a face mask found is a target, the
    person's other photos its references), or a manifest .csv with the columns target and
    references (';'-separated; optional mask and face; paths relative to the CSV). A bad photo
    fails alone; the exit code is 1 when any target failed. Running again skips what is done.

    \b
    Examples:
      unmask batch album/ -o album-unmasked
      unmask batch cases.csv -o out --workers 2
      unmask batch cases.csv -o out --cluster tcp://10.0.0.5:8786
    """
    from unmask.batch import Settings, make_executor, run_batch
    from unmask.batch.report import failure_lines
    from unmask.cli.run import parse_options

    if workers is not None and cluster is not None:
        raise click.UsageError("give --workers or --cluster, not both (a cluster's workers are its own)")
    settings = Settings(method=method, options=parse_options(options), seed=seed, strip_location=strip_location)
    with make_executor(workers, cluster) as executor:
        summary = run_batch(source, output, settings, executor, bars=not quiet)
    counts = ", ".join(f"{n} {status}" for status, n in sorted(summary.counts.items()))
    click.echo(f"{counts or 'nothing to do'} ({summary.ran} jobs run, {summary.reused} done before)")
    for path in summary.report:
        click.echo(str(path))
    for line in failure_lines(summary.failures, summary.report[0]):
        click.echo(line, err=True)
    if summary.failed:
        sys.exit(1)
