"""Product galleries: which pictures a product has, in which order, and their changes.

The rows are ``ProductImage`` (``storefront.models.product_details``), the files are
:mod:`storefront.catalog.image_files`. Operations flush; the caller commits, and only after the
commit deletes files no row names any more (:func:`prune_files`), so a rollback never leaves a
row without its file.

Order: ``position``, lowest first, then id. A feed places its pictures at 0, 1, 2... on every
import (its own order); an upload goes after everything; "show first" puts a picture before
everything (below the lowest position), so it stays first through later imports.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from storefront.catalog.image_files import ImageRejected, delete_files, process_image, write_files
from storefront.extensions import db
from storefront.models.common import utcnow
from storefront.models.product_details import FROM_UPLOAD, ProductImage

MAX_IMAGES_PER_PRODUCT = 30
StoredKey = tuple[str, str]  # (file_key, file_ext) of files that may have lost their last row


@dataclass(frozen=True)
class GalleryImage:
    """A stored picture as the product page shows it: file names of each size."""

    id: int
    large: str
    thumb: str
    width: int | None
    height: int | None


def ordered(query):
    return query.order_by(ProductImage.position, ProductImage.id)


def all_images(product_id: int) -> list[ProductImage]:
    """Every picture of a product, stored or not (the admin's list)."""
    return list(db.session.scalars(ordered(select(ProductImage).where(ProductImage.product_id == product_id))))


def gallery(product_id: int) -> list[GalleryImage]:
    """The stored pictures of a product, first first (empty: the page keeps its placeholder)."""
    query = ordered(select(ProductImage).where(ProductImage.product_id == product_id,
                                               ProductImage.file_key.is_not(None)))
    return [GalleryImage(row.id, row.file_name("large"), row.file_name("thumb"), row.width, row.height)
            for row in db.session.scalars(query)]


def card_files(product_ids: Collection[int]) -> dict[int, str]:
    """product id -> the ``card`` file of its first stored picture (products without one are absent)."""
    if not product_ids:
        return {}
    first = (
        select(ProductImage.product_id, func.min(ProductImage.position).label("position"))
        .where(ProductImage.product_id.in_(sorted(product_ids)), ProductImage.file_key.is_not(None))
        .group_by(ProductImage.product_id).subquery()
    )
    rows = db.session.execute(
        select(ProductImage.product_id, ProductImage.file_key, ProductImage.file_ext, ProductImage.id)
        .join(first, (first.c.product_id == ProductImage.product_id) & (first.c.position == ProductImage.position))
        .where(ProductImage.file_key.is_not(None))
        .order_by(ProductImage.product_id, ProductImage.id)
    )
    found: dict[int, str] = {}
    for product_id, key, ext, _ in rows:
        found.setdefault(product_id, f"{key}-card.{ext}")
    return found


def add_uploads(product_id: int, files: Iterable[tuple[str, bytes]], folder: Path | None = None) -> list[ProductImage]:
    """Store uploaded pictures after the product's others; flushes.

    All or nothing: every file is checked before any is written, and :class:`ValueError` names
    each rejected one (``ImageRejected`` messages, prefixed with the file's name).
    """
    processed, problems = [], []
    for name, data in files:
        try:
            processed.append(process_image(data))
        except ImageRejected as error:
            problems.append(f"{name or 'the file'}: {error}")
    if problems:
        raise ValueError("; ".join(problems))
    count = db.session.scalar(select(func.count()).where(ProductImage.product_id == product_id)) or 0
    if count + len(processed) > MAX_IMAGES_PER_PRODUCT:
        raise ValueError(f"a product has at most {MAX_IMAGES_PER_PRODUCT} pictures ({count} already)")
    last = db.session.scalar(select(func.max(ProductImage.position)).where(ProductImage.product_id == product_id))
    position = (last if last is not None else -1) + 1
    added = []
    for image in processed:
        write_files(image, folder)
        row = ProductImage(product_id=product_id, position=position, source=FROM_UPLOAD, file_key=image.key,
                           file_ext=image.ext, width=image.width, height=image.height, created_at=utcnow())
        db.session.add(row)
        added.append(row)
        position += 1
    db.session.flush()
    return added


def _image(product_id: int, image_id: int) -> ProductImage | None:
    return db.session.scalar(select(ProductImage).where(ProductImage.id == image_id,
                                                        ProductImage.product_id == product_id))


def remove(product_id: int, image_id: int) -> StoredKey | None | bool:
    """Delete a picture's row; flushes. False: no such picture of this product; else the key of
    its files (None when it was never stored), for :func:`prune_files` after the commit."""
    row = _image(product_id, image_id)
    if row is None:
        return False
    key = (row.file_key, row.file_ext) if row.file_key and row.file_ext else None
    db.session.delete(row)
    db.session.flush()
    return key


def move_first(product_id: int, image_id: int) -> bool:
    """Put a picture before all others of its product; flushes. False: no such picture."""
    row = _image(product_id, image_id)
    if row is None:
        return False
    lowest = db.session.scalar(select(func.min(ProductImage.position)).where(ProductImage.product_id == product_id))
    if lowest is not None and (row.position > lowest or _ties(product_id, lowest, row.id)):
        row.position = lowest - 1
        db.session.flush()
    return True


def _ties(product_id: int, position: int, image_id: int) -> bool:
    """Whether another picture shares the lowest position and comes first by id."""
    return bool(db.session.scalar(select(func.count()).where(
        ProductImage.product_id == product_id, ProductImage.position == position, ProductImage.id < image_id)))


def prune_files(keys: Iterable[StoredKey | None], folder: Path | None = None) -> int:
    """After the commit: delete the files of ``keys`` that no row names any more; how many keys."""
    wanted = {key for key in keys if key}
    if not wanted:
        return 0
    used = set(db.session.execute(
        select(ProductImage.file_key, ProductImage.file_ext)
        .where(ProductImage.file_key.in_(sorted(k for k, _ in wanted)))).all())
    gone = [key for key in wanted if key not in used]
    for key, ext in gone:
        delete_files(key, ext, folder)
    return len(gone)
