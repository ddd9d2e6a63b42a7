"""The `unmask` command. Each subcommand lives in its own module and is imported only when used,
so `unmask --help` answers at once without loading torch or dlib."""

from __future__ import annotations

import importlib
import sys

import click

from unmask.errors import UnmaskError

# command name -> (module under unmask.cli, attribute, one-line help shown by `unmask --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("run", "run", "Complete a masked face from a reference photo of the same person."),
    "demo": ("demo", "demo", "Run a complete example offline on photos the project makes itself."),
    "align": ("align", "align", "Detect a face and write its FFHQ-aligned crop (and landmarks as JSON)."),
    "region": ("region", "region", "Find the face-mask region of a photo and write it as a mask image."),
    "batch": ("batch", "batch", "Complete every masked photo of an album or a manifest CSV, in parallel."),
    "eval": ("evaluate", "evaluate", "Score completion methods on photo sets with synthetic masks or on a cases.csv."),
    "cases": ("evaluate", "cases", "Write a cases.csv of procedural face masks on a folder of person photos."),
    "project": ("project", "project", "Project an aligned face into StyleGAN2's latent space."),
    "generate": ("generate", "generate", "Generate faces from random seeds with a StyleGAN2 generator."),
    "mix": ("generate", "mix", "Draw a style-mixing grid to see what each resolution band controls."),
    "weights": ("weights", "weights", "List, download, import and convert StyleGAN2 weights."),
    "web": ("web", "web", "Start a local web page to upload, correct the region, complete and download."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(f"unmask.cli.{module}"), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, _, short) in COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="unmask")
def cli() -> None:
    """Complete the part of a face hidden by a face mask, using an unmasked photo of the same
    person, so that the nose, mouth and chin drawn are that person's own.

    \b
    Example:
      unmask run masked.jpg --reference unmasked.jpg -o result.jpg --panel panel.png
    """


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the CLI and turns `UnmaskError` into a one-line message and exit code 1."""
    try:
        cli.main(args=argv, standalone_mode=False)
    except UnmaskError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
