"""``flask modelstore ...``: the model store every web node reads (``storefront.modelstore``).

``status`` shows the store, the active pointer, the versions published and this node's cache.
``push`` uploads versions of the local folder (moving a shop from ``MODEL_STORE=local`` to a
store: push, then ``activate``). ``activate VERSION`` is the same activation training and the
experiments use. ``sync`` runs one node check now (fetch what the pointer and the running
experiments need, point ``ACTIVE``): a deploy can warm a new node's cache before it takes traffic.
"""
from __future__ import annotations

import getpass
import socket

import click
from flask.cli import AppGroup

from ml.artifacts import ArtifactError, read_active
from ml.registry import ModelRegistry
from storefront import modelstore
from storefront.cli.common import format_table

modelstore_cli = AppGroup("modelstore", help="Where model versions live (MODEL_STORE) and which one is active.")


def _store():
    current = modelstore.state()
    if current.store is None:
        raise click.ClickException("MODEL_STORE=local: the model folder is the store (nothing to push or sync).")
    return current


@modelstore_cli.command("status")
def status_command():
    """The store, the pointer, the published versions and this node's cache."""
    current = modelstore.state()
    local = ModelRegistry(current.model_dir)
    click.echo(f"Store: {current.store.name if current.store else 'local'}   cache: {current.model_dir}")
    if current.store is not None:
        from storefront.modelstore.pointer import read_pointer

        pointer = read_pointer(current.engine)
        click.echo("Pointer: " + (f"{pointer.version} (activated {pointer.activated_at:%Y-%m-%d %H:%M} UTC by "
                                  f"{pointer.activated_by})" if pointer else "none"))
    published = modelstore.published_versions()
    cached, active = set(local.versions()), read_active(current.model_dir)
    rows = [[v, "yes" if v in cached else "", "*" if v == active else ""] for v in published]
    click.echo(format_table(["version", "in this cache", "local ACTIVE"], rows) if rows else "No version published.")


@modelstore_cli.command("push")
@click.argument("versions", nargs=-1)
def push_command(versions):
    """Upload local versions (default: every local version the store lacks)."""
    current = _store()
    local = ModelRegistry(current.model_dir)
    names = list(versions) or [v for v in local.versions() if not current.store.is_complete(v)]
    for name in names:
        try:
            current.store.publish(local.path(name))
        except (ArtifactError, ValueError, OSError) as error:
            raise click.ClickException(f"{name}: {error}") from None
        click.echo(f"Pushed {name}.")
    if not names:
        click.echo("Nothing to push.")


@modelstore_cli.command("activate")
@click.argument("version")
def activate_command(version):
    """Make VERSION the one every node serves (it must be published completely)."""
    try:
        modelstore.activate(version, by=f"flask modelstore activate ({getpass.getuser()}@{socket.gethostname()})")
    except (ArtifactError, modelstore.StoreError, ValueError, OSError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Activated {version}.")


@modelstore_cli.command("sync")
def sync_command():
    """Fetch what the pointer (and the running experiments) need into this node's cache, now."""
    from storefront.experiments.management import running_challengers

    current = _store()
    current.sync.check_now(running_challengers())
    if current.sync.last_error:
        raise click.ClickException(current.sync.last_error)
    click.echo(f"Cache {current.model_dir}: ACTIVE {read_active(current.model_dir) or 'none'}, "
               f"{len(ModelRegistry(current.model_dir).versions())} version(s).")
