"""``taskforge images export|import``: move a dataset's images without a registry.

``register(app)`` adds the ``images`` group to the main Typer app (``pipeline.cli.main``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipeline.cli.console import stdout
from pipeline.cli.dataset import DatasetArgument, dataset_layout
from pipeline.cli.options import CacheDirOption, WorkDirOption

if TYPE_CHECKING:  # docker-py loads when a command runs, not with every taskforge command
    from pipeline.consumers.image_archive import ArchiveReport

images_app = typer.Typer(
    help="Move a dataset's images as one archive (docker save format).", no_args_is_help=True
)


@images_app.command("export")
def export_command(
    out: DatasetArgument,
    to: Annotated[Path, typer.Option(help="The archive to write (a .tar file).")],
    work_dir: WorkDirOption = None,
    cache_dir: CacheDirOption = None,
) -> None:
    """Save every image OUT's verified tasks run in to one archive."""
    from pipeline.consumers.image_archive import export_images

    layout = dataset_layout(out, work_dir, cache_dir)
    _print("saved", export_images(layout, to), to)


@images_app.command("import")
def import_command(
    archive: Annotated[Path, typer.Argument(help="An archive `images export` wrote.")],
) -> None:
    """Load the images of ARCHIVE into this machine's Docker engine."""
    from pipeline.consumers.image_archive import import_images

    _print("loaded", import_images(archive), archive)


def _print(verb: str, report: ArchiveReport, archive: Path) -> None:
    for tag in report.images:
        stdout.print(f"{verb} {tag}", highlight=False, soft_wrap=True)
    size = report.bytes / 1e6
    stdout.print(f"{len(report.images)} images {verb}, {archive} ({size:.1f} MB)", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``images`` group to ``app``."""
    app.add_typer(images_app, name="images")
