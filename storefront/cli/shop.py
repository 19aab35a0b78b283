"""``flask shop ...`` commands (``flask ml ...`` live in :mod:`storefront.cli.ml`). Each is a thin
click wrapper over a service function."""
from __future__ import annotations

import time
from datetime import UTC, datetime

import click
from flask.cli import AppGroup
from tqdm import tqdm

from storefront.database import refresh_statistics
from storefront.extensions import db

shop_cli = AppGroup("shop", help="Demo data, admins and catalog maintenance.")


@shop_cli.command("seed")
@click.option("--seed", "seed_value", default=42, show_default=True, help="Random seed (same seed, same shop).")
@click.option("--products", default=1200, show_default=True)
@click.option("--categories", default=24, show_default=True)
@click.option("--customers", default=1600, show_default=True, help="Registered customers.")
@click.option("--anonymous", default=1000, show_default=True, help="Anonymous visitors.")
@click.option("--days", default=150, show_default=True, help="Days of history.")
@click.option("--events", default=220_000, show_default=True, help="Approximate number of events.")
@click.option("--end-date", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last day of history (UTC, exclusive); default today.")
@click.option("--b2b-visitors", default=3000, show_default=True,
              help="B2B visitors with gated-asset form submissions (0: the asset library only).")
@click.option("--if-empty", is_flag=True, help="Do nothing (successfully) if the shop already has products.")
def seed_command(seed_value, products, categories, customers, anonymous, days, events, end_date, b2b_visitors, if_empty):
    """Fill an empty database with a simulated shop: catalog, shoppers, orders, events."""
    from ml.synth.shop import SynthConfig
    from storefront.seeding import resources as asset_seeding
    from storefront.seeding import shop as seeding

    if not seeding.database_is_empty():
        if if_empty:
            click.echo("Shop already has data; skipping the demo seed.")
            return
        raise click.ClickException("The database already has products. Seed fills an empty shop only.")
    config = SynthConfig(
        seed=seed_value, n_categories=categories, n_products=products, n_customers=customers,
        n_anonymous=anonymous, days=days, target_events=events,
        end=end_date or datetime.combine(datetime.now(UTC).date(), datetime.min.time()),
    )
    started = time.perf_counter()
    bar = tqdm(total=events, unit="ev", desc="events", disable=None, leave=False)

    def progress(stage: str, rows: int) -> None:
        if stage == "events":
            bar.update(rows)
        else:
            click.echo(f"  {stage}...")

    try:
        report = seeding.seed_demo(config, progress)
        progress("gated assets", 0)
        assets = asset_seeding.seed_assets(seed_value, max(b2b_visitors, 0), config.end, days)
        db.session.flush()
        refresh_statistics(db.session.connection())  # PostgreSQL: the planner learns the new sizes
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    finally:
        bar.close()
    types = ", ".join(f"{k} {v:,}" for k, v in sorted(report.events_by_type.items(), key=lambda kv: -kv[1]))
    click.echo(
        f"Seeded in {time.perf_counter() - started:.1f}s: {report.categories} categories, "
        f"{report.products:,} products, {report.customers:,} customers, {report.visitors:,} visitors, "
        f"{report.orders:,} orders ({report.order_lines:,} lines), {report.events:,} events "
        f"({types}) from {report.first_event:%Y-%m-%d} to {report.last_event:%Y-%m-%d}."
    )
    if report.click_logs:
        click.echo(f"Click logs: {report.click_logs.summary()}.")
    click.echo(f"Gated content: {assets.summary()}.")


@shop_cli.command("create-admin")
@click.argument("email")
@click.option("--generate-password", is_flag=True, help="Generate a password and print it once instead of prompting.")
@click.option("--if-none", is_flag=True, help="Do nothing if an admin already exists.")
def create_admin_command(email, generate_password, if_none):
    """Create an administrator (or promote an existing customer)."""
    from storefront.orders import accounts

    if if_none and accounts.admin_count():
        click.echo("An admin account already exists; not creating another.")
        return
    try:
        accounts.check_email(email)  # before prompting: a bad address would waste the password
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from None
    password = None
    if not generate_password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            accounts.check_password(password, email)  # the same policy as registration
        except accounts.AccountError as error:
            raise click.ClickException(str(error)) from None
    try:
        customer, generated = accounts.create_admin(email, password)
    except accounts.AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Admin ready: {customer.email}")
    if generated:
        click.secho(f"Password (shown once, write it down): {generated}", bold=True)


@shop_cli.command("revoke-sessions")
@click.argument("email")
def revoke_sessions_command(email):
    """Log a customer out everywhere: every session and remember-me cookie stops working."""
    from storefront.orders import accounts

    customer = accounts.find_by_email(email)
    if customer is None:
        raise click.ClickException(f"No account with the email {email!r}.")
    accounts.revoke_sessions(customer)
    db.session.commit()
    click.echo(f"Every session of {customer.email} is revoked: they must log in again on every device.")


@shop_cli.command("refresh-popularity")
def refresh_popularity_command():
    """Recompute the popularity score used to sort listings."""
    from storefront.catalog.listings import refresh_popularity

    refresh_popularity()
    db.session.commit()
    click.echo("Popularity scores refreshed.")
