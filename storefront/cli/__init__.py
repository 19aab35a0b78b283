"""The ``flask`` command groups, one module each, and the helpers they share (``common``).

``flask shop`` (demo data, admins, catalog maintenance), ``flask ml`` (train, evaluate, schedule,
inspect; ``ctr-evaluate``/``ctr-sample`` from :mod:`storefront.cli.ctr`), ``flask data`` (public
logs), ``flask catalog`` (the shop's own catalogue from a merchant feed, and its pictures),
``flask resources`` (the gated B2B content; ``flask assets`` is its old name, kept as an
alias), ``flask search`` (the product search index), ``flask modelstore`` (where model versions
live and which one is active, :mod:`storefront.modelstore`). Each command is a thin click wrapper over a
service and owns the transaction.
"""
from __future__ import annotations

from flask import Flask


def register_cli(app: Flask) -> None:
    from storefront.cli.catalog import catalog_cli
    from storefront.cli.data import data_cli
    from storefront.cli.ml import ml_cli
    from storefront.cli.modelstore import modelstore_cli
    from storefront.cli.resources import resources_cli, resources_cli_alias
    from storefront.cli.search import search_cli
    from storefront.cli.shop import shop_cli

    app.cli.add_command(shop_cli)
    app.cli.add_command(ml_cli)
    app.cli.add_command(resources_cli)
    app.cli.add_command(resources_cli_alias)
    app.cli.add_command(data_cli)
    app.cli.add_command(catalog_cli)
    app.cli.add_command(search_cli)
    app.cli.add_command(modelstore_cli)
