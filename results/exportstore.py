"""Exports kept on disk, per snapshot: a snapshot never changes once built, so its cells.csv
is written once, while it streams to its first downloader, and then sent as a file.

The files live in TALLY_EXPORT_DIR (a cache: each web host keeps its own, and losing it costs
one COPY per snapshot). A file appears only once its stream ended, by an atomic rename, so a
download cut short or two written at once never leave half a file; the KEEP most recently
written are kept. A directory that cannot be written is skipped: the stream still goes out.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from django.conf import settings

from .models import Snapshot

logger = logging.getLogger(__name__)

KEEP = 64


def _directory() -> Path:
    return Path(settings.TALLY_EXPORT_DIR)


def _path(snapshot: Snapshot, name: str) -> Path:
    # created_at too: a database made anew may give a new snapshot an old one's id.
    stamp = int(snapshot.created_at.timestamp() * 1_000_000)
    return _directory() / f"{name}-{snapshot.pk}-{stamp}.csv"


def stored(snapshot: Snapshot, name: str) -> Path | None:
    path = _path(snapshot, name)
    return path if path.is_file() else None


def keeping(snapshot: Snapshot, name: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The chunks as they come, written to the snapshot's file on the way."""
    path = _path(snapshot, name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle: IO[bytes] | None = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed below)
            dir=path.parent, prefix=".part-", suffix=".csv", delete=False
        )
    except OSError:
        logger.warning("Exports are not kept: %s cannot be written", path.parent, exc_info=True)
        yield from chunks  # (closing this generator closes `chunks` too)
        return
    written = False
    try:  # (closing this generator closes `chunks` too: a COPY cut short ends at once)
        for chunk in chunks:
            if handle is not None:
                try:
                    handle.write(chunk)
                except OSError:  # the disk is full: the download goes on without the file
                    logger.warning("Export %s not kept", path, exc_info=True)
                    handle.close()
                    os.unlink(handle.name)
                    handle = None
            yield chunk
        written = handle is not None
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
        if handle is not None:
            handle.close()
            if written:
                os.replace(handle.name, path)
                _prune(path.parent)
            else:  # cut short (the client left, the database failed)
                os.unlink(handle.name)


def _prune(directory: Path) -> None:
    try:
        files = sorted(
            (entry for entry in os.scandir(directory) if entry.name.endswith(".csv")
             and not entry.name.startswith(".")),
            key=lambda entry: entry.stat().st_mtime,
        )  # fmt: skip
        for entry in files[:-KEEP]:
            os.unlink(entry.path)
    except OSError:  # another process pruned the same file first
        logger.debug("Export pruning stopped", exc_info=True)
