"""The taxonomy: normalizing labels, versions, and re-applying it to every wave."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from survey.models import Alias, Answer, Choice, Entity, TaxonomyVersion
from survey.taxonomy import (
    TaxonomyIndex,
    alias_add,
    normalize,
    taxonomy_apply,
    taxonomy_seed,
    taxonomy_version_latest_applied,
)
from tests.factories import imported_response

LABELS = ["Scikit-learn", "Fast.ai", "MXNet", "H2O 3", "tf.keras", "Hugging Face Transformers"]


def _variant(label: str, data: st.DataObject) -> str:
    cased = "".join(c.upper() if data.draw(st.booleans()) else c.lower() for c in label)
    left = data.draw(st.sampled_from(["", " ", "  ", "\t", "\u00a0"]))
    right = data.draw(st.sampled_from(["", " ", "   ", "\n"]))
    return left + cased.replace(" ", data.draw(st.sampled_from([" ", "  ", "\u00a0"]))) + right


@given(label=st.sampled_from(LABELS), data=st.data())
def test_case_and_space_variants_normalize_alike(label, data):
    assert normalize(_variant(label, data)) == normalize(label)


def test_default_taxonomy_is_seeded_by_the_migration(db):
    index = TaxonomyIndex.load()
    assert index.lookup("framework", "torch").key == "pytorch"
    assert index.lookup("framework", "tf.keras").key == "keras"
    assert index.lookup("framework", "Huggingface").key == "huggingface-transformers"
    assert index.lookup("framework", "Hugging Face Transformers").key == "huggingface-transformers"
    assert index.lookup("framework", "  Scikit-learn ").key == "scikit-learn"
    assert index.lookup("framework", "H20").key == index.lookup("framework", "H2O 3").key == "h2o"
    assert Entity.objects.get(kind="framework", key="flax").parent.key == "jax"
    assert index.lookup("company-size", "> 10,000 employees").key == "10000-plus"
    assert TaxonomyVersion.objects.exists()


def test_seeding_again_changes_nothing(db):
    versions = TaxonomyVersion.objects.count()
    assert taxonomy_seed() is None
    assert TaxonomyVersion.objects.count() == versions


def test_alias_add_makes_a_version_with_who_and_what(db, curator):
    entity = Entity.objects.get(kind="framework", key="jax")
    alias, version = alias_add(entity=entity, text="jaxlib", user=curator)
    assert alias.normalized == "jaxlib"
    assert version.created_by == curator
    assert version.changes.get().description == "Alias 'jaxlib' -> framework jax"
    assert alias_add(entity=entity, text="JAXLIB ", user=curator)[1] is None


def _census_response(census, values, n=0):
    return imported_response(census, respondent_hash=f"t-{n}", values=values)


def _keys(response):
    return set(
        Answer.objects.filter(response=response, question__key="frameworks_used").values_list(
            "choice__key", flat=True
        )
    )


def test_apply_maps_other_texts_and_merges_duplicates(census, curator):
    both = _census_response(
        census,
        {
            "role": "student",
            "region": "europe",
            "frameworks_used": ["pytorch", "other"],
            "frameworks_used__other": "torch",
        },
        1,
    )
    split = _census_response(
        census,
        {
            "role": "student",
            "region": "europe",
            "frameworks_used": ["other"],
            "frameworks_used__other": "tf.keras, jaxlib, frobnicate",
        },
        2,
    )
    report = taxonomy_apply(user=curator)
    assert _keys(both) == {"pytorch"}
    assert _keys(split) == {"keras", "other"}  # frobnicate is still unknown
    assert report.other_texts_mapped == 2
    assert (
        taxonomy_version_latest_applied() == TaxonomyVersion.objects.order_by("-number")[0].number
    )
    assert both.curation_logs.get().action == "map_other"

    alias_add(entity=Entity.objects.get(kind="framework", key="jax"), text="jaxlib", user=curator)
    taxonomy_apply(user=curator)
    assert _keys(split) == {"keras", "jax", "other"}
    taxonomy_apply(user=curator)  # idempotent
    assert Answer.objects.filter(response=split, question__key="frameworks_used").count() == 3


def test_apply_merges_a_reviewable_choice_into_the_canonical_one(db, kaggle_file, curator):
    from django.core.management import call_command

    call_command(
        "import_kaggle", str(kaggle_file()), "--wave", "2099", "--no-progress", stdout=None
    )
    role = Choice.objects.get(question__survey__slug="kaggle-2099", key="chief-data-wrangler")
    assert role.needs_review
    entity = Entity.objects.get(kind="role", key="data-engineer")
    alias_add(entity=entity, text="Chief Data Wrangler", user=curator)
    taxonomy_apply(user=curator)
    assert not Choice.objects.filter(pk=role.pk).exists()
    assert (
        Answer.objects.filter(
            question__survey__slug="kaggle-2099", question__key="role", choice__key="data-engineer"
        ).count()
        == 1
    )
    assert Alias.objects.filter(text="Chief Data Wrangler").exists()


def test_mapping_other_texts_never_changes_an_open_surveys_questions(census, curator):
    from survey.curation import entity_create, other_mapping_approve
    from survey.services import survey_copy_as_wave

    next_wave = survey_copy_as_wave(
        survey=census, slug="census-2027", wave_label="2027", title="Census 2027"
    )
    response = _census_response(
        census,
        {
            "role": "student",
            "region": "europe",
            "frameworks_used": ["other"],
            "frameworks_used__other": "Lightning Fabric",
        },
    )
    before = list(census.questions.get(key="frameworks_used").choices.values_list("key"))
    fabric = entity_create(kind="framework", name="Lightning Fabric", user=curator)
    other_mapping_approve(kind="framework", texts=["Lightning Fabric"], entity=fabric, user=curator)
    after = list(census.questions.get(key="frameworks_used").choices.values_list("key"))
    assert after == before  # respondents before and after see the same questions
    assert _keys(response) == {"other"}  # counted once the wave closes
    offered = next_wave.questions.get(key="frameworks_used").choices.values_list("key", flat=True)
    assert "lightning-fabric" in offered  # the new option goes into the next wave


def test_an_alias_that_reads_as_another_entitys_name_is_refused(db, curator):
    from survey.curation import CurationError, entity_create, other_mapping_approve

    plus = entity_create(kind="framework", name="+1", user=curator)
    with pytest.raises(CurationError, match='"-1" would get the key "1", the key of "\\+1"'):
        entity_create(kind="framework", name="-1", user=curator)
    pytorch = Entity.objects.get(kind="framework", key="pytorch")
    with pytest.raises(CurationError, match='"Tensor-Flow" reads the same as "TensorFlow"'):
        other_mapping_approve(kind="framework", texts=["Tensor-Flow"], entity=pytorch, user=None)
    assert not Alias.objects.filter(text="Tensor-Flow").exists()
    assert plus.key == "1"
