from django.core.management.base import BaseCommand, CommandError

from survey.census import CENSUS_SPEC, REPORT_SPEC
from survey.demo import DEMO_SERIES, demo_load
from survey.models import Series, Survey
from survey.poll_demo import poll_demo_load
from survey.services import SurveyError, survey_create


class Command(BaseCommand):
    help = (
        "Create the ML Framework Census (open for answers); --demo adds the synthetic demo "
        "series and a demo quick poll."
    )

    def add_arguments(self, parser):
        parser.add_argument("--demo", action="store_true", help="Also load synthetic demo waves.")

    def handle(self, *args, demo: bool = False, **options):
        survey = Survey.objects.filter(slug=CENSUS_SPEC["survey"]["slug"]).first()
        if survey is None:
            try:
                survey = survey_create(
                    spec=CENSUS_SPEC, survey_overrides={"status": Survey.Status.OPEN}
                )
            except SurveyError as error:
                raise CommandError(str(error)) from error
            self.stdout.write(f"Created {survey.title} at /s/{survey.slug}/")
        else:
            self.stdout.write(f"{survey.title} is already loaded.")
        if demo:
            series = demo_load()
            self.stdout.write(f"Demo series {series.slug!r} loaded (synthetic responses).")
            poll = poll_demo_load()
            self.stdout.write(f"Demo poll at /p/{poll.slug}/ (synthetic votes).")
        # Series made before they carried a report spec get the Census' one.
        Series.objects.filter(
            slug__in=[CENSUS_SPEC["series"]["slug"], DEMO_SERIES], report_spec={}
        ).update(report_spec=REPORT_SPEC)
