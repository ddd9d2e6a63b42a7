"""`unmask weights`: list, download, locate, import and convert StyleGAN2 weights."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from unmask.errors import CheckpointError, UnmaskError


@click.group()
def weights() -> None:
    """List, download, import and convert StyleGAN2 weights.

    \b
    Cache folder: $UNMASK_HOME/weights, else the user cache dir (unmask weights path NAME).
    Formats read: NVIDIA PyTorch/TensorFlow pickles (without running their code),
    rosinality .pt, and unmask's own .safetensors (see docs/weights.md).
    """


@weights.command("list")
def list_models() -> None:
    """Show the known models, where they are cached and whether they are there."""
    from unmask.gan import zoo

    click.echo(f"cache: {zoo.weights_dir()}")
    for model in zoo.ZOO.values():
        path = zoo.model_path(model.name)
        part = path.with_name(path.name + ".part")
        if path.is_file():
            status = f"cached ({path.stat().st_size / 2**20:.0f} MiB)"
        elif part.is_file():
            status = f"partial ({part.stat().st_size / 2**20:.0f} MiB; download resumes)"
        else:
            status = "not downloaded"
        res = f"{model.resolution}px" if model.resolution else "-"
        click.echo(f"{model.name:<14} {res:>6}  {status:<24} {model.description}")
        click.echo(f"{'':<14} {'':>6}  {model.url}")


@weights.command()
@click.argument("name")
def download(name: str) -> None:
    """Download model NAME into the cache (resumes an interrupted download)."""
    from unmask.gan import zoo

    path = zoo.download(name)
    click.echo(str(path))


@weights.command()
@click.argument("name")
def path(name: str) -> None:
    """Print where model NAME is (or must be put, when downloading by hand)."""
    from unmask.gan import zoo

    click.echo(str(zoo.model_path(name)))


@weights.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", help="Zoo name to file it under (default: the zoo entry with the same file name).")
def import_(file: Path, name: str | None) -> None:
    """Check FILE (downloaded by hand) and copy it into the cache as a zoo model."""
    from unmask.gan import zoo
    from unmask.gan.checkpoints import read_weights
    from unmask.images import write_atomic

    if not file.is_file():
        raise UnmaskError("file not found", file)
    if name is None:
        matches = [m.name for m in zoo.ZOO.values() if m.filename == file.name]
        if not matches:
            raise UnmaskError(f"no zoo model has the file name '{file.name}'; pass --name "
                              f"({', '.join(zoo.ZOO)})", file)
        name = matches[0]
    model = zoo.get_model(name)
    if model.size is not None and file.stat().st_size != model.size:
        raise CheckpointError(f"has {file.stat().st_size} bytes; {name} has {model.size}", file)
    if model.sha256 is not None and zoo.file_sha256(file) != model.sha256:
        raise CheckpointError(f"sha256 differs from the published one of {name}", file)
    if model.resolution is not None:
        config, _ = read_weights(file)
        if config.resolution != model.resolution:
            raise CheckpointError(f"is a {config.resolution}px generator; {name} is {model.resolution}px", file)
    dest = zoo.model_path(name)

    def copy(handle) -> None:
        with open(file, "rb") as src:
            shutil.copyfileobj(src, handle, 1 << 20)

    write_atomic(dest, copy, protect=[file])
    click.echo(f"{name}: {dest}")


@weights.command()
@click.argument("source")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def convert(source: str, out: Path) -> None:
    """Convert SOURCE (zoo name or weights file of any supported format) to unmask's own
    .safetensors format, which loads fast and can hold no code."""
    from unmask.gan import load_generator, save_generator, zoo

    src = zoo.resolve(source)
    G = load_generator(src)
    save_generator(G, out, protect=[src])
    click.echo(f"{out}: {G.resolution}px generator, {G.num_ws} style inputs, "
               f"conv_clamp={G.config.conv_clamp}")
