from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from survey.importers.kaggle import KaggleImportError
from survey.importers.kaggle.extract import kaggle_extract


class Command(BaseCommand):
    help = (
        "Write a compact extract of a Kaggle ML & DS Survey responses file: only the columns "
        "import_kaggle reads, both header rows kept, every record in order, zipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="The full responses CSV or the dataset's zip.")
        parser.add_argument("target", type=Path, help="The zip to write, e.g. data/kaggle/....zip")
        parser.add_argument("--wave", default="", help="Wave label, when its layout differs.")

    def handle(self, *args: Any, path: Path, target: Path, wave: str, **options: Any) -> None:
        try:
            records, columns = kaggle_extract(path=path, target=target, wave=wave)
        except KaggleImportError as error:
            raise CommandError(f"{path.name}: {error}", returncode=2) from None
        size = target.stat().st_size
        self.stdout.write(
            f"{target}: {records:,} records, {columns} columns, {size / 1024:,.0f} KiB"
        )
