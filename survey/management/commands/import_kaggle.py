from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from survey.importers.kaggle import KNOWN_WAVES, KaggleImportError, kaggle_import


class Command(BaseCommand):
    help = (
        "Import a Kaggle ML & DS Survey responses CSV (or the zip holding it) as a wave of a "
        "series, replacing an earlier import of the same wave."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="The responses CSV or the dataset's zip.")
        parser.add_argument("--wave", required=True, help="Wave label, such as 2022.")
        parser.add_argument("--series", default="ml-frameworks", help="Series slug.")
        parser.add_argument(
            "--license",
            default=None,
            help=f"License of the data (known for waves {', '.join(sorted(KNOWN_WAVES))}).",
        )
        parser.add_argument("--attribution", default=None, help="Citation line for reports.")
        parser.add_argument("--source", default=None, help="Who collected the data, and where.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, **options):
        try:
            summary = kaggle_import(
                path=options["path"],
                wave=options["wave"],
                series_slug=options["series"],
                license=options["license"],
                attribution=options["attribution"],
                source=options["source"],
                progress=not options["no_progress"] and options["verbosity"] > 0,
            )
        except KaggleImportError as error:
            raise CommandError(f"{options['path'].name}: {error}", returncode=2) from None
        for line in summary.lines():
            self.stdout.write(line)
