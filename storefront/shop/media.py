"""Product pictures, served from the instance folder (``storefront.catalog.image_files``).

A file's name is the sha256 of the picture plus its size, so it never changes content: browsers
and proxies may keep it a year without asking again (``immutable``). Only names of that shape
are looked up, so no path can reach outside the folder. Behind nginx, ``location /media/products/``
can serve the same folder directly (README, "Your own catalogue").
"""
from __future__ import annotations

import re

from flask import send_from_directory
from werkzeug.exceptions import NotFound

from storefront.catalog.image_files import image_folder
from storefront.shop import bp

NAME = re.compile(r"[0-9a-f]{64}-(large|card|thumb)\.(jpg|png)")
ONE_YEAR = 365 * 24 * 3600


@bp.get("/media/products/<name>")
def product_media(name: str):
    if not NAME.fullmatch(name):
        raise NotFound()
    response = send_from_directory(image_folder() / name[:2], name, max_age=ONE_YEAR)
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response
