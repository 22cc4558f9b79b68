"""Factories shared by the survey and results tests."""

from typing import Any

from survey.models import Answer, Response, Survey
from survey.services import Structure, response_import


def imported_response(
    survey: Survey,
    *,
    respondent_hash: str,
    values: dict[str, Any],
    channel: str = "direct",
    structure: Structure | None = None,
    **fields: Any,
) -> Response:
    """A complete response saved through the same answer rules as an import."""
    response, answers = response_import(
        survey=survey,
        respondent_hash=respondent_hash,
        values=values,
        channel=channel,
        structure=structure or Structure.of(survey),
    )
    for name, value in fields.items():
        setattr(response, name, value)
    response.save()
    for answer in answers:
        answer.response = response
    Answer.objects.bulk_create(answers)
    return response
