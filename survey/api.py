"""Survey definitions and the submission endpoint, for programs rather than browsers."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, throttle_classes
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse

from . import channels, identity, limits
from .flow import answers_check
from .models import Survey
from .selectors import survey_row, survey_with_structure, surveys_open
from .serializers import (
    SubmissionResultSerializer,
    SubmissionSerializer,
    SurveyDefinitionSerializer,
    SurveyErrorSerializer,
    SurveyListSerializer,
)
from .services import (
    RateLimitedError,
    SurveyClosedError,
    SurveyError,
    response_submit_whole,
    structure_current,
)
from .tasks import response_checks_queue


class SubmitThrottle(limits.ClientRateThrottle):
    scope = "submit"


# The URL converter's pattern, so generated clients (and fuzzers) know what a slug is.
SLUG = OpenApiParameter(
    "slug",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    pattern=r"^[-a-zA-Z0-9_]+$",
    description="The survey's slug, e.g. census-2026.",
)


def _error(message: str, code: int = status.HTTP_400_BAD_REQUEST, **extra: Any) -> ApiResponse:
    return ApiResponse({"detail": message, **extra}, status=code)


@extend_schema(responses=SurveyListSerializer(many=True))
@api_view(["GET"])
def survey_list(request: Request) -> ApiResponse:
    return ApiResponse(SurveyListSerializer(surveys_open(), many=True).data)


@extend_schema(
    parameters=[SLUG],
    responses={
        200: SurveyDefinitionSerializer,
        404: OpenApiResponse(
            SurveyErrorSerializer, description="No published survey has this slug."
        ),
    },
)
@api_view(["GET"])
def survey_detail(request: Request, slug: str) -> ApiResponse:
    survey = survey_with_structure(slug=slug)
    if survey is None or survey.status == Survey.Status.DRAFT:
        return _error("No published survey has this slug.", status.HTTP_404_NOT_FOUND)
    return ApiResponse(SurveyDefinitionSerializer(survey).data)


def _flat_errors(errors: Any, key: str = "") -> dict[str, list[str]]:
    """Serializer errors as question key (or field) to messages, however deep they nest."""
    if isinstance(errors, dict):
        flat: dict[str, list[str]] = {}
        for name, nested in errors.items():
            # Errors inside "answers" are about a question: name them by its key alone.
            inner = str(name) if key in ("", "answers") else f"{key}.{name}"
            flat.update(_flat_errors(nested, inner))
        return flat
    if isinstance(errors, list) and all(isinstance(e, str) for e in errors):
        return {key: [str(e) for e in errors]}
    if isinstance(errors, list):
        flat = {}
        for index, nested in enumerate(errors):
            flat.update(_flat_errors(nested, f"{key}.{index}"))
        return flat
    return {key: [str(errors)]}


@extend_schema(
    parameters=[SLUG, limits.IDEMPOTENCY_PARAMETER],
    request=SubmissionSerializer,
    responses={
        201: OpenApiResponse(
            SubmissionResultSerializer, description="Saved as a complete response"
        ),
        400: OpenApiResponse(
            SurveyErrorSerializer, description="Answers did not validate; nothing was saved."
        ),
        403: OpenApiResponse(
            SurveyErrorSerializer, description="The survey is by invitation only."
        ),
        404: OpenApiResponse(
            SurveyErrorSerializer, description="No published survey has this slug."
        ),
        410: OpenApiResponse(SurveyErrorSerializer, description="The survey is closed."),
        415: OpenApiResponse(SurveyErrorSerializer, description="The body is not JSON or a form."),
        413: OpenApiResponse(
            SurveyErrorSerializer, description="The body is too large; nothing was saved."
        ),
        429: OpenApiResponse(
            SurveyErrorSerializer,
            description="Too many submissions from this client; retry after `Retry-After` seconds.",
        ),
        503: OpenApiResponse(
            SurveyErrorSerializer, description="The database is unavailable; retry shortly."
        ),
    },
)
@api_view(["POST"])
@throttle_classes([SubmitThrottle])
def survey_submit(request: Request, slug: str) -> ApiResponse:
    """Submit a whole response at once; the same validation as the browser, page by page."""
    survey = survey_row(slug=slug)  # read each request: status, dates, structure version
    if survey is None or survey.status == Survey.Status.DRAFT:
        return _error("No published survey has this slug.", status.HTTP_404_NOT_FOUND)
    if not survey.is_open:
        return _error("This survey is closed and accepts no answers.", status.HTTP_410_GONE)
    if survey.access == Survey.Access.INVITE:
        return _error("This survey is by invitation only; answer it in the browser.", 403)
    idempotency = limits.idempotency_key(request)
    if idempotency.error:
        return _error(idempotency.error)
    # Without a key the respondent hash is new and random: nothing to replay.
    if idempotency.keyed:
        replay = limits.idempotent_replay(survey, idempotency.respondent_hash)
        if replay is not None:
            return replay
    payload = SubmissionSerializer(data=request.data)
    if not payload.is_valid():
        return _error("Invalid submission.", errors=_flat_errors(payload.errors))
    answers: dict[str, Any] = payload.validated_data["answers"]
    structure = structure_current(survey)
    others = {f"{k}__other" for k, q in structure.by_key.items() if q.has_other}
    unknown = sorted(set(answers) - set(structure.by_key) - others)
    if unknown:
        return _error(
            "Unknown question keys.", errors={key: ["No such question."] for key in unknown}
        )
    checked = answers_check(structure=structure, answers=answers)
    if checked.errors:
        return _error("Some answers did not validate; nothing was saved.", errors=checked.errors)

    requested_channel = payload.validated_data.get("channel") or ""
    channel = channels.channel_public(requested_channel, default="api")
    try:
        response = response_submit_whole(
            survey=survey,
            respondent_hash=idempotency.respondent_hash,
            values=checked.values,
            channel=channel,
            channel_requested=channels.channel_held(requested_channel, channel),
            ip_hash=identity.ip_hash(limits.client_ip(request)),
            structure=structure,
            body=answers,
        )
    except IntegrityError:  # a concurrent retry with the same Idempotency-Key won
        return limits.idempotent_replay(survey, idempotency.respondent_hash) or _error(
            "A submission with this Idempotency-Key is being saved; retry.", 409
        )
    except SurveyClosedError:
        return _error("This survey is closed and accepts no answers.", status.HTTP_410_GONE)
    except RateLimitedError as error:
        return _error(str(error), status.HTTP_429_TOO_MANY_REQUESTS)
    except SurveyError as error:
        return _error(str(error))
    response_checks_queue(survey_id=survey.pk)
    return ApiResponse({"status": response.status}, status=201)
