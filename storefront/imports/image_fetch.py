"""Download the feed's picture URLs into the shop: optional, time-limited, one picture at a time.

A catalogue import only records URLs (``ProductImage.source_url``): the machine may have no
network, and an import must stay one quick all-or-nothing transaction. ``flask catalog
fetch-images`` (or ``flask catalog import --fetch-images``, after the import's commit) then fetches
each picture not stored yet:

- http and https only (redirects too); each download has a time limit (``timeout`` seconds for
  the whole transfer, not per read: a server trickling bytes is cut off) and a size limit
  (``PRODUCT_IMAGE_MAX_BYTES``); the whole run has a time budget and stops cleanly when it is
  spent (the rest waits for the next run);
- the bytes go through the same checks and cleaning as an upload
  (:func:`storefront.catalog.image_files.process_image`);
- a failure is recorded on the row (``fetch_error``, shown in the admin) and the next run tries
  again; the product keeps its placeholder meanwhile.

:func:`fetch_pending` yields after each picture, with that picture flushed, so the command can
commit as it goes: an interrupted run keeps what it fetched.
"""
from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path

from sqlalchemy import select

from storefront.catalog.image_files import ImageRejected, max_bytes, process_image, write_files
from storefront.extensions import db
from storefront.models.common import utcnow
from storefront.models.product_details import ProductImage

USER_AGENT = "storefront-catalog/1.0 (product picture fetch)"
READ_BLOCK = 64 * 1024


class FetchFailed(Exception):
    pass


@dataclass(frozen=True)
class FetchOutcome:
    image_id: int
    product_id: int
    url: str
    error: str | None  # None: stored


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) only (urllib would also follow one to ftp:)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not newurl.lower().startswith(("http://", "https://")):
            raise FetchFailed(f"redirected to a non-http URL: {newurl[:100]}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def download(url: str, timeout: float, limit: int) -> bytes:
    """The body at ``url``, or :class:`FetchFailed`: at most ``limit`` bytes in ``timeout`` seconds."""
    if not url.lower().startswith(("http://", "https://")):
        raise FetchFailed("not an http(s) URL")
    deadline = time.monotonic() + timeout
    opener = urllib.request.build_opener(_HttpOnlyRedirects)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "image/*"})
    try:
        with opener.open(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise FetchFailed(f"the picture is {int(declared):,} bytes; at most {limit:,}")
            chunks, size = [], 0
            while True:
                if time.monotonic() > deadline:
                    raise FetchFailed(f"took longer than {timeout:g} s")
                chunk = response.read1(READ_BLOCK)  # one read: a trickle cannot hold us past the deadline
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise FetchFailed(f"the picture is over {limit:,} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    except urllib.error.HTTPError as error:
        raise FetchFailed(f"HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise FetchFailed(f"cannot connect: {error.reason}") from None
    except (TimeoutError, OSError, HTTPException) as error:
        raise FetchFailed(f"download failed: {error or type(error).__name__}") from None


def pending_ids(product_ids: list[int] | None = None) -> list[int]:
    """Pictures with a URL and no stored file, by product then position."""
    query = select(ProductImage.id).where(ProductImage.source_url.is_not(None), ProductImage.file_key.is_(None))
    if product_ids is not None:
        query = query.where(ProductImage.product_id.in_(product_ids))
    return list(db.session.scalars(query.order_by(ProductImage.product_id, ProductImage.position, ProductImage.id)))


def fetch_pending(*, timeout: float = 10.0, time_budget: float = 600.0, limit: int | None = None,
                  folder: Path | None = None) -> Iterator[FetchOutcome]:
    """Fetch and store the pending pictures until done, ``limit`` or ``time_budget`` seconds."""
    stop_at = time.monotonic() + time_budget
    size_limit = max_bytes()
    for number, image_id in enumerate(pending_ids()):
        if (limit is not None and number >= limit) or time.monotonic() >= stop_at:
            return
        row = db.session.get(ProductImage, image_id)
        if row is None or row.file_key is not None or not row.source_url:
            continue  # changed since the list was made (an import or the admin)
        error = None
        try:
            image = process_image(download(row.source_url, min(timeout, max(stop_at - time.monotonic(), 1.0)),
                                           size_limit), size_limit)
            write_files(image, folder)
        except (FetchFailed, ImageRejected) as problem:
            error = str(problem)[:300]
        else:
            row.file_key, row.file_ext, row.width, row.height = image.key, image.ext, image.width, image.height
        row.fetch_error, row.fetched_at = error, utcnow()
        db.session.flush()
        yield FetchOutcome(row.id, row.product_id, row.source_url, error)
