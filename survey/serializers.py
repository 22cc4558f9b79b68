"""Shapes of survey definitions and submissions in the API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from .models import Choice, Page, Question, Survey


class SurveyListSerializer(serializers.ModelSerializer):
    series: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = Survey
        fields = ["slug", "title", "series", "wave_label", "intro", "closes_at", "is_synthetic"]


class ChoiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Choice
        fields = ["key", "label", "role", "is_other"]


class QuestionSerializer(serializers.ModelSerializer):
    choices = ChoiceSerializer(many=True, read_only=True)
    show_if = serializers.SerializerMethodField()

    class Meta:
        model = Question
        fields = [
            "key",
            "kind",
            "text",
            "help_text",
            "required",
            "is_dimension",
            "has_other",
            "min_value",
            "max_value",
            "max_length",
            "max_selections",
            "show_if",
            "choices",
        ]

    def get_show_if(self, question: Question) -> dict[str, Any] | None:
        if question.show_if_question is None:
            return None
        return {"question": question.show_if_question.key, "any_of": question.show_if_choice_keys}


class PageSerializer(serializers.ModelSerializer):
    questions = serializers.SerializerMethodField()

    class Meta:
        model = Page
        fields = ["position", "title", "intro", "questions"]

    def get_questions(self, page: Page) -> list[dict[str, Any]]:
        survey = page.survey
        questions = [q for q in survey.questions.all() if q.page_id == page.pk]
        return list(QuestionSerializer(questions, many=True).data)


class SurveyDefinitionSerializer(SurveyListSerializer):
    pages = PageSerializer(many=True, read_only=True)
    is_open = serializers.BooleanField(read_only=True)

    class Meta(SurveyListSerializer.Meta):
        fields = [*SurveyListSerializer.Meta.fields, "status", "access", "is_open", "pages"]


class SubmissionSerializer(serializers.Serializer):
    answers = serializers.DictField(
        child=serializers.JSONField(),
        help_text="Question key to value: a choice key (single, scale), a list of choice keys "
        "(multi), an object of row key to column key (matrix), a number or a text. "
        '"<key>__other" carries "Other, please specify" text.',
    )
    channel = serializers.RegexField(
        r"^[a-z0-9][a-z0-9_.:-]{0,59}$", required=False, help_text="Recruitment channel."
    )

    def validate_answers(self, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > 200:
            raise serializers.ValidationError("Too many answers for any survey here.")
        return value


class SurveyErrorSerializer(serializers.Serializer):
    """Every error the survey API returns: a sentence, and per question key what is wrong."""

    detail = serializers.CharField()
    # A field named "errors" shadows Serializer.errors in the stubs; it is only a schema.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Question key (or submission field) to its messages.",
    )


class SubmissionResultSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='Always "complete": the response was saved whole.')
