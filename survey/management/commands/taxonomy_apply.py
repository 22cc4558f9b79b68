from django.core.management.base import BaseCommand

from survey.taxonomy import taxonomy_apply, taxonomy_seed


class Command(BaseCommand):
    help = "Seed the default taxonomy where missing, then re-map every wave to the taxonomy."

    def handle(self, *args, **options):
        seeded = taxonomy_seed()
        if seeded:
            self.stdout.write(f"Seeded: {seeded}")
        report = taxonomy_apply()
        self.stdout.write(
            f"Taxonomy v{report.version} applied: {report.choices_merged} choices merged, "
            f"{report.answers_moved} answers moved, {report.other_texts_mapped} other texts mapped"
        )
        for line in report.details:
            self.stdout.write(f"  {line}")
