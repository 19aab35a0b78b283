"""Product pictures as files: checked with Pillow, cleaned, resized once, stored by content.

Whatever arrives (an admin's upload, a feed's URL) goes through :func:`process_image` first:

- the bytes must be a JPEG, PNG, WebP or GIF image (Pillow reads the pixels, whatever the file
  name or the Content-Type said), at most ``PRODUCT_IMAGE_MAX_BYTES`` (10 MB) and
  ``MAX_PIXELS`` pixels (a small file can decode to gigabytes: a decompression bomb);
- the camera's orientation is applied, then the pixels are copied into a new image, so EXIF
  (GPS position, camera serial...), XMP and comments are left behind; the colour profile stays;
- three sizes are made (``large``, ``card``, ``thumb``: a gallery, a product card, a gallery's
  strip), never enlarged, as JPEG or, when the picture uses transparency, PNG.

:func:`write_files` then stores them under the instance folder (``PRODUCT_IMAGE_DIR``, default
``instance/product_images``) as ``<key[:2]>/<key>-<size>.<ext>``, where the key is the sha256 of
the bytes received: the same picture twice is stored once, a name never changes content (so it
is served with a year of caching), and nothing is resized again on a request.
"""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

from storefront.models.product_details import VARIANTS

SIZES = {"large": 1200, "card": 400, "thumb": 160}  # the longest side, in pixels
FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "GIF": "GIF"}
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel photo decodes to 160 MB of RGBA: the most we let in
MIN_SIDE = 16
assert set(SIZES) == set(VARIANTS)


class ImageRejected(Exception):
    """Not a picture the shop takes; the message says why, for the admin or the import report."""


@dataclass(frozen=True)
class ProcessedImage:
    key: str  # sha256 of the bytes received
    ext: str  # jpg or png
    width: int  # of the large size
    height: int
    files: dict[str, bytes] = field(repr=False)  # size -> encoded bytes


def image_folder() -> Path:
    configured = current_app.config.get("PRODUCT_IMAGE_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "product_images"


def max_bytes() -> int:
    return int(current_app.config.get("PRODUCT_IMAGE_MAX_BYTES") or DEFAULT_MAX_BYTES)


def file_path(folder: Path, name: str) -> Path:
    return folder / name[:2] / name


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _opened(data: bytes, limit: int) -> Image.Image:
    if not data:
        raise ImageRejected("the file is empty")
    if len(data) > limit:
        raise ImageRejected(f"the file is {_megabytes(len(data))}; at most {_megabytes(limit)}")
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageRejected("the file is not a picture (JPEG, PNG, WebP or GIF)") from None
    except Image.DecompressionBombError:
        raise ImageRejected(f"the picture has too many pixels (at most {MAX_PIXELS:,})") from None
    except (OSError, SyntaxError, ValueError) as error:  # a header cut short
        raise ImageRejected(f"the picture is damaged or truncated ({error})") from None
    if image.format not in FORMATS:
        raise ImageRejected(f"the picture is {image.format or 'of an unknown format'}; JPEG, PNG, WebP or GIF only")
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageRejected(f"the picture is {width} x {height} pixels; at most {MAX_PIXELS:,} pixels")
    if min(width, height) < MIN_SIDE:
        raise ImageRejected(f"the picture is {width} x {height} pixels; at least {MIN_SIDE} on each side")
    try:
        image.load()  # decodes every pixel: a truncated or corrupt file fails here, not later
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise ImageRejected(f"the picture is damaged or truncated ({error})") from None
    return image


def _clean(image: Image.Image) -> tuple[Image.Image, str]:
    """The pixels upright, in a new image without metadata; and the extension to save as."""
    profile = image.info.get("icc_profile")
    image = ImageOps.exif_transpose(image) or image
    transparent = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if transparent:
        image = image.convert("RGBA")
        transparent = image.getchannel("A").getextrema() != (255, 255)  # an alpha channel nobody uses
    image = image.convert("RGBA" if transparent else "RGB")
    clean = Image.frombytes(image.mode, image.size, image.tobytes())  # only the pixels come across
    if profile:
        clean.info["icc_profile"] = profile
    return clean, "png" if transparent else "jpg"


def _encode(image: Image.Image, ext: str) -> bytes:
    buffer = io.BytesIO()
    profile = image.info.get("icc_profile")
    extra = {"icc_profile": profile} if profile else {}
    if ext == "png":
        image.save(buffer, "PNG", optimize=True, **extra)
    else:
        image.save(buffer, "JPEG", quality=85, optimize=True, progressive=True, **extra)
    return buffer.getvalue()


def process_image(data: bytes, limit: int | None = None) -> ProcessedImage:
    """Check and convert ``data`` (nothing is written); :class:`ImageRejected` with the reason."""
    limit = limit or max_bytes()
    with _opened(data, limit) as original:
        try:
            clean, ext = _clean(original)
        except (OSError, SyntaxError, ValueError) as error:  # e.g. an EXIF block that is garbage
            raise ImageRejected(f"the picture cannot be read ({error})") from None
    files = {}
    large_size = clean.size
    for variant, side in SIZES.items():
        copy = clean.copy()
        copy.thumbnail((side, side), Image.Resampling.LANCZOS)  # keeps the ratio, never enlarges
        if variant == "large":
            large_size = copy.size
        files[variant] = _encode(copy, ext)
    return ProcessedImage(hashlib.sha256(data).hexdigest(), ext, large_size[0], large_size[1], files)


def write_files(image: ProcessedImage, folder: Path | None = None) -> None:
    """Store every size once (a file already there is the same picture: left as it is)."""
    folder = folder or image_folder()
    for variant, content in image.files.items():
        target = file_path(folder, f"{image.key}-{variant}.{image.ext}")
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(content)
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)  # atomic: a reader never sees half a file
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def delete_files(key: str, ext: str, folder: Path | None = None) -> None:
    folder = folder or image_folder()
    for variant in SIZES:
        file_path(folder, f"{key}-{variant}.{ext}").unlink(missing_ok=True)
