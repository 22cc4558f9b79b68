"""cells.csv kept per snapshot once streamed (results/exportstore.py)."""

import os
from pathlib import Path

import pytest
from django.http import FileResponse, StreamingHttpResponse

from results import exportstore
from results.exports import cells_csv_response
from results.models import Cell
from tests.results.factories import census_snapshot
from tests.results.test_exports_copy import CELLS, python_bytes


def _body(response) -> bytes:  # noqa: ANN001
    return b"".join(response.streaming_content)


def _kept(settings) -> list[str]:  # noqa: ANN001
    folder = Path(settings.TALLY_EXPORT_DIR)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.django_db
def test_the_second_download_is_the_kept_file_with_the_same_bytes_and_no_copy(
    client, settings, django_assert_num_queries
):
    snapshot = census_snapshot(hostile=True)
    Cell.objects.bulk_create(
        Cell(snapshot=snapshot, wave="2026", question="domains", choice=f"c{i}")
        for i in range(2000)
    )
    first = client.get(CELLS)
    assert isinstance(first, StreamingHttpResponse)
    assert _kept(settings) == []  # not before the stream has ended
    body = _body(first)
    assert body == python_bytes(snapshot)
    assert len(_kept(settings)) == 1 and not _kept(settings)[0].startswith(".")
    with django_assert_num_queries(1):  # the published snapshot; no COPY
        again = client.get(CELLS)
    assert isinstance(again, FileResponse)
    assert _body(again) == body
    assert int(again["Content-Length"]) == len(body)
    for header in ("Content-Type", "Content-Disposition", "Cache-Control", "Tally-Snapshot"):
        assert again[header] == first[header], header


@pytest.mark.django_db(transaction=True)  # closing a response ends the request's connection
def test_a_download_cut_short_keeps_no_file(client, settings):
    snapshot = census_snapshot()
    Cell.objects.bulk_create(
        Cell(snapshot=snapshot, wave="2026", question="domains", choice=f"c{i}")
        for i in range(3000)
    )
    response = client.get(CELLS)
    stream = iter(response.streaming_content)
    next(stream), next(stream)
    response.close()  # the client went away: the server closes the response
    assert _kept(settings) == []
    assert _body(client.get(CELLS)) == python_bytes(snapshot)  # whole, and kept now
    assert len(_kept(settings)) == 1


@pytest.mark.django_db
def test_a_folder_that_cannot_be_written_still_streams_the_file(client, settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings.TALLY_EXPORT_DIR = str(blocker / "exports")
    snapshot = census_snapshot()
    assert _body(client.get(CELLS)) == python_bytes(snapshot)
    assert _body(client.get(CELLS)) == python_bytes(snapshot)


@pytest.mark.django_db
def test_a_file_pruned_between_the_check_and_the_open_is_written_again(settings, monkeypatch):
    snapshot = census_snapshot()
    _body(cells_csv_response(snapshot, "x.csv"))
    (path,) = Path(settings.TALLY_EXPORT_DIR).iterdir()
    monkeypatch.setattr(exportstore, "stored", lambda *_: path)
    path.unlink()
    response = cells_csv_response(snapshot, "x.csv")
    assert isinstance(response, StreamingHttpResponse)
    assert _body(response) == python_bytes(snapshot)


@pytest.mark.django_db
def test_only_the_most_recent_files_are_kept(settings, monkeypatch):
    monkeypatch.setattr(exportstore, "KEEP", 2)
    snapshots = [census_snapshot() for _ in range(3)]
    for snapshot in snapshots:
        _body(cells_csv_response(snapshot, "x.csv"))
        for kept in Path(settings.TALLY_EXPORT_DIR).iterdir():  # older than the next one
            os.utime(kept, (kept.stat().st_mtime - 10, kept.stat().st_mtime - 10))
    names = _kept(settings)
    assert len(names) == 2
    assert not any(f"-{snapshots[0].pk}-" in name for name in names)
