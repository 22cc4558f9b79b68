import re
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from survey.importers.kaggle import KaggleImportError, kaggle_import
from survey.models import Survey

EXTRACT = re.compile(r"kaggle_(?P<wave>[\w.-]+)_extract\.zip")


class Command(BaseCommand):
    help = (
        "Import the Kaggle wave extracts that ship with Tally (data/kaggle/) into the "
        "ml-frameworks series, skipping waves already imported (from an extract or a full file)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--folder",
            type=Path,
            default=None,
            help="Where the extracts are (default: data/kaggle/ in the repository).",
        )
        parser.add_argument("--series", default="ml-frameworks", help="Series slug.")

    def handle(self, *args: Any, folder: Path | None, series: str, **options: Any) -> None:
        folder = folder or Path(settings.BASE_DIR) / "data" / "kaggle"
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder", returncode=2)
        extracts = sorted(
            (match["wave"], path)
            for path in folder.iterdir()
            if (match := EXTRACT.fullmatch(path.name))
        )
        started = time.perf_counter()
        for wave, path in extracts:
            existing = Survey.objects.filter(slug=f"kaggle-{wave}").first()
            if existing is not None and existing.responses.exists():
                self.stdout.write(f"Kaggle {wave} is already imported ({existing.slug}).")
                continue
            try:
                summary = kaggle_import(path=path, wave=wave, series_slug=series)
            except KaggleImportError as error:
                raise CommandError(f"{path.name}: {error}", returncode=2) from None
            self.stdout.write(
                f"Imported Kaggle {wave} from {path.name}: {summary.imported:,} responses "
                f"in {summary.seconds:.1f} s"
            )
        if not extracts:
            self.stdout.write(f"No Kaggle extracts in {folder}.")
        elif options["verbosity"] > 1:
            self.stdout.write(f"Done in {time.perf_counter() - started:.1f} s")
