"""Curation and taxonomy screens in the admin."""

from django.test import Client

from survey.models import Answer, CurationLog, Entity, Response, TaxonomyVersion
from tests.factories import imported_response


def _response(census, n, values):
    return imported_response(census, respondent_hash=f"a{n}", values=values, channel="social")


VALUES = {"role": "student", "region": "europe", "frameworks_used": ["pytorch"]}


def test_bulk_exclude_asks_for_a_reason_then_logs_it(curator_client, census, curator):
    ids = [_response(census, n, VALUES).pk for n in range(3)]
    post = {"action": "exclude_responses", "_selected_action": ids[:2]}
    page = curator_client.post("/admin/survey/response/", post)
    assert 'name="reason"' in page.content.decode()
    assert Response.objects.filter(curation="excluded").count() == 0
    done = curator_client.post("/admin/survey/response/", {**post, "reason": "Bot traffic"})
    assert done.status_code == 302
    assert set(Response.objects.filter(curation="excluded").values_list("pk", flat=True)) == set(
        ids[:2]
    )
    log = CurationLog.objects.filter(response_id=ids[0]).get()
    assert (log.reason, log.user) == ("Bot traffic", curator)
    change = curator_client.get(f"/admin/survey/response/{ids[0]}/change/").content.decode()
    assert "Bot traffic" in change


def test_response_list_filters_by_flag(curator_client, census):
    flagged = _response(census, 1, VALUES)
    Response.objects.filter(pk=flagged.pk).update(quality_flags=["too-fast"])
    _response(census, 2, VALUES)
    page = curator_client.get("/admin/survey/response/?flag=too-fast").content.decode()
    assert "1 response" in page
    assert "too-fast" in page


def test_review_screen_groups_texts_and_approval_maps_them(curator_client, census):
    for n, text in enumerate(["Torchh", "torchh ", "Frobnicate"]):
        _response(
            census,
            n,
            {**VALUES, "frameworks_used": ["other"], "frameworks_used__other": text},
        )
    page = curator_client.get("/admin/survey/response/review/?kind=framework").content.decode()
    assert "Torchh" in page and "Frobnicate" in page
    pytorch = Entity.objects.get(kind="framework", key="pytorch")
    versions = TaxonomyVersion.objects.count()
    answer = curator_client.post(
        "/admin/survey/response/review/?kind=framework",
        {"group": ["0"], "texts-0": ["Torchh", "torchh"], "entity-0": str(pytorch.pk)},
    )
    assert answer.status_code == 302
    assert TaxonomyVersion.objects.count() == versions + 1
    counted = Answer.objects.filter(question__key="frameworks_used", choice__key="pytorch")
    assert counted.count() == 2
    assert TaxonomyVersion.objects.order_by("-number")[0].applied_at is not None
    page = curator_client.get("/admin/survey/response/review/?kind=framework").content.decode()
    assert "Torchh" not in page and "Frobnicate" in page


def test_company_view_counts_accepted_responses(curator_client, census):
    for n, name in enumerate(["Acme Inc.", "ACME", "Globex"]):
        _response(census, n, {**VALUES, "role": "manager", "company_name": name})
    from survey.curation import companies_normalize

    companies_normalize(survey_id=census.pk)
    page = curator_client.get("/admin/survey/response/companies/").content.decode()
    assert "acme" in page and "globex" in page


def test_company_view_is_for_staff_only(client, census):
    answer = client.get("/admin/survey/response/companies/")
    assert answer.status_code == 302 and "/login/" in answer["Location"]


def test_entity_change_in_admin_creates_a_version(curator_client, curator):
    jax = Entity.objects.get(kind="framework", key="jax")
    before = TaxonomyVersion.objects.count()
    data = {
        "kind": "framework",
        "key": "jax",
        "name": "JAX",
        "parent": "",
        "aliases-TOTAL_FORMS": "1",
        "aliases-INITIAL_FORMS": "0",
        "aliases-MIN_NUM_FORMS": "0",
        "aliases-MAX_NUM_FORMS": "1000",
        "aliases-0-text": "jax.numpy",
        "aliases-0-approved": "on",
        "aliases-0-entity": jax.pk,
    }
    answer = curator_client.post(f"/admin/survey/entity/{jax.pk}/change/", data)
    assert answer.status_code == 302
    assert TaxonomyVersion.objects.count() == before + 1
    version = TaxonomyVersion.objects.order_by("-number")[0]
    assert version.created_by == curator
    assert "jax.numpy" in version.changes.get().description
    assert jax.aliases.get(text="jax.numpy").normalized == "jaxnumpy"


def test_response_page_shows_what_was_answered(curator_client, census, census_post):
    respondent = Client()
    for number, data in enumerate(census_post, start=1):
        respondent.post("/s/census-2026/", {"page": str(number), **data})
    response = Response.objects.get()
    page = curator_client.get(f"/admin/survey/response/{response.pk}/change/").content.decode()
    assert "Which title is closest to your current role?" in page
    assert "Data Scientist" in page
    assert "TensorFlow: Used before and stopped" in page


def test_approving_a_text_that_reads_as_another_framework_says_why_it_is_refused(
    curator_client, census
):
    _response(
        census, 1, {**VALUES, "frameworks_used": ["other"], "frameworks_used__other": "Tensor-Flow"}
    )
    pytorch = Entity.objects.get(kind="framework", key="pytorch")
    answer = curator_client.post(
        "/admin/survey/response/review/?kind=framework",
        {"group": ["0"], "texts-0": ["Tensor-Flow"], "entity-0": str(pytorch.pk)},
        follow=True,
    )
    page = answer.content.decode().replace("&quot;", '"')
    assert 'Not approved: "Tensor-Flow" reads the same as "TensorFlow"' in page
    assert not Answer.objects.filter(choice__key="pytorch").exists()
