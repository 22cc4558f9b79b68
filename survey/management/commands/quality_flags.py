from django.core.management.base import BaseCommand, CommandError

from survey.curation import quality_flags_compute
from survey.models import Survey


class Command(BaseCommand):
    help = "Recompute the quality flags (suggestions only) of every response of the surveys."

    def add_arguments(self, parser):
        parser.add_argument("slugs", nargs="*", help="Survey slugs (default: all surveys).")

    def handle(self, *args, slugs: list[str], **options):
        surveys = Survey.objects.all()
        if slugs:
            surveys = surveys.filter(slug__in=slugs)
            missing = set(slugs) - set(surveys.values_list("slug", flat=True))
            if missing:
                raise CommandError(f"No survey {', '.join(sorted(missing))}", returncode=2)
        for survey in surveys:
            counts = quality_flags_compute(survey_id=survey.pk)
            flagged = ", ".join(f"{name} {n:,}" for name, n in sorted(counts.items())) or "none"
            self.stdout.write(f"{survey.slug}: {flagged}")
