from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from signals.importers import PARSERS, SignalFileError
from signals.services import signal_import


class Command(BaseCommand):
    help = (
        "Import outside-signal files (GitHub Innovation Graph, PyPI downloads, papers), each "
        "replacing its source's earlier import. The format is read from the header unless given."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path, help="One or more signal CSV files.")
        parser.add_argument("--format", choices=sorted(PARSERS), default=None)

    def handle(self, *args, **options):
        for path in options["paths"]:
            try:
                report = signal_import(path=path, format=options["format"])
            except SignalFileError as error:
                raise CommandError(f"{path.name}: {error}", returncode=2) from None
            if options["verbosity"] > 0:
                self.stdout.write(report.line())
