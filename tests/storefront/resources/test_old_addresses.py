"""Gated content was called "assets" in the admin's addresses: old bookmarks redirect, still admin-only."""
from __future__ import annotations

from urllib.parse import urlsplit


def test_old_admin_addresses_redirect_to_the_resources_pages(admin_client):
    for old, new in (("/admin/assets", "/admin/resources"), ("/admin/assets/leads.csv", "/admin/resources/leads.csv"),
                     ("/admin/assets/performance", "/admin/resources/performance"),
                     ("/admin/assets/model", "/admin/resources/model")):
        response = admin_client.get(old)
        assert response.status_code == 301 and urlsplit(response.headers["Location"]).path == new, old
        assert admin_client.get(new).status_code == 200
    kept = admin_client.get("/admin/assets/performance?sort=views&dir=asc")
    assert urlsplit(kept.headers["Location"]).query == "sort=views&dir=asc"


def test_old_addresses_are_admin_only_too(client):
    response = client.get("/admin/assets/leads.csv")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
