"""promotions: structured campaign offers (issue 22) and what an order got (order_adjustments)

Campaigns get their offer as data: ``promo_type`` (none, percent_off, amount_off, free_shipping,
buy_n_get_one), ``promo_value`` (the percent or the amount), ``promo_buy`` (N of "buy N, get one
free") and ``target_product_ids`` (a JSON list narrowing the target to some products). Existing
campaigns are converted from their free-text offer where it reads clearly ("20% off", "$5 off",
"Free shipping", "Buy 2, get 1 free", "3 for 2"; a new-arrivals campaign's "New season" is no
discount); the others keep ``promo_type`` NULL, which the admin shows as "no structured offer"
and which discounts nothing. The reader is a frozen copy of storefront.orders.offers.parse_offer
as of this revision. Converting updates campaigns, so the catalog version moves (its triggers).

The columns are added in place with their CHECK constraints (SQLite accepts them on ADD COLUMN):
rebuilding ``campaigns`` in batch mode would fail on the impressions and merchandising rules that
point at it, and would drop its catalog-version triggers.

``order_adjustments``: one row per discount line and per shipping charge of an order, amounts
positive; older orders have none.

Revision ID: 7c1e5a93b2d4
Revises: e8f54ac9effa
Create Date: 2026-12-10 10:00:00.000000

"""
import re
from decimal import Decimal

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c1e5a93b2d4'
down_revision = 'e8f54ac9effa'
branch_labels = None
depends_on = None

PROMO_TYPE_CHECK = "promo_type IN ('none', 'percent_off', 'amount_off', 'free_shipping', 'buy_n_get_one')"
PROMO_VALUE_CHECK = (
    "CASE WHEN promo_type = 'percent_off' THEN promo_value IS NOT NULL AND promo_value > 0 AND promo_value <= 100 "
    "WHEN promo_type = 'amount_off' THEN promo_value IS NOT NULL AND promo_value > 0 "
    "ELSE promo_value IS NULL END"
)
PROMO_BUY_CHECK = (
    "CASE WHEN promo_type = 'buy_n_get_one' THEN promo_buy IS NOT NULL AND promo_buy >= 1 AND promo_buy <= 99 "
    "ELSE promo_buy IS NULL END"
)
COLUMNS = [  # (name, SQLAlchemy type, SQL type, its CHECK)
    ("promo_type", sa.String(length=16), "VARCHAR(16)", PROMO_TYPE_CHECK),
    ("promo_value", sa.Numeric(precision=10, scale=2), "NUMERIC(10, 2)", PROMO_VALUE_CHECK),
    ("promo_buy", sa.Integer(), "INTEGER", PROMO_BUY_CHECK),
    ("target_product_ids", sa.JSON(none_as_null=True), "JSON", None),
]

# -- frozen copy of storefront.orders.offers.parse_offer ---------------------------------------
_PERCENT = re.compile(r"(\d{1,3}(?:\.\d{1,2})?)\s*%")
_AMOUNT = re.compile(r"[$€£]\s*(\d{1,6}(?:\.\d{1,2})?)\s*off", re.I)
_FREE_SHIPPING = re.compile(r"free\s+(?:shipping|delivery)|ships?\s+free|delivered\s+free", re.I)
_BUY_GET = re.compile(r"buy\s+(\d{1,2})\W+(?:and\s+)?get\s+(?:1|one)(?:\s+free)?", re.I)
_N_FOR_M = re.compile(r"\b(\d{1,2})\s+for\s+(\d{1,2})\b", re.I)
_NEW = re.compile(r"\bnew\b|just landed|arrivals", re.I)


def _parse_offer(text, offer_kind):
    """(promo_type, promo_value, promo_buy) of a free-text offer; promo_type None when unclear."""
    text = (text or "").strip()
    percent = _PERCENT.search(text)
    if percent and Decimal("0") < Decimal(percent.group(1)) <= Decimal("100"):
        return "percent_off", Decimal(percent.group(1)), None
    amount = _AMOUNT.search(text)
    if amount and Decimal(amount.group(1)) > 0:
        return "amount_off", Decimal(amount.group(1)), None
    if _FREE_SHIPPING.search(text):
        return "free_shipping", None, None
    found = _BUY_GET.search(text)
    if found and int(found.group(1)) >= 1:
        return "buy_n_get_one", None, int(found.group(1))
    found = _N_FOR_M.search(text)
    if found and int(found.group(1)) == int(found.group(2)) + 1 >= 2:
        return "buy_n_get_one", None, int(found.group(2))
    if offer_kind == "new_arrivals" and (_NEW.search(text) or not text):
        return "none", None, None
    return None, None, None


def _convert_campaigns(bind) -> None:
    rows = bind.execute(sa.text("SELECT id, offer, offer_kind FROM campaigns ORDER BY id")).all()
    update = sa.text(
        "UPDATE campaigns SET promo_type = :type, promo_value = :value, promo_buy = :buy WHERE id = :id"
    ).bindparams(sa.bindparam("value", type_=sa.Numeric(10, 2)), sa.bindparam("buy", type_=sa.Integer()))
    for campaign_id, offer, offer_kind in rows:
        promo_type, value, buy = _parse_offer(offer, offer_kind)
        if promo_type is not None:
            bind.execute(update, {"type": promo_type, "value": value, "buy": buy, "id": campaign_id})


def upgrade():
    bind = op.get_bind()
    for name, type_, sql_type, check in COLUMNS:
        if bind.dialect.name == "sqlite":
            constraint = f" CONSTRAINT ck_campaigns_{name} CHECK ({check})" if check else ""
            op.execute(f"ALTER TABLE campaigns ADD COLUMN {name} {sql_type}{constraint}")
        else:
            op.add_column('campaigns', sa.Column(name, type_, nullable=True))
    if bind.dialect.name != "sqlite":
        for name, _, _, check in COLUMNS:
            if check:
                op.create_check_constraint(op.f(f'ck_campaigns_{name}'), 'campaigns', check)
    _convert_campaigns(bind)

    op.create_table(
        'order_adjustments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('order_line_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=True),
        sa.Column('label', sa.String(length=200), nullable=False),
        sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
        sa.CheckConstraint("kind IN ('discount', 'shipping')", name=op.f('ck_order_adjustments_kind')),
        sa.CheckConstraint('amount >= 0', name=op.f('ck_order_adjustments_amount_not_negative')),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'],
                                name=op.f('fk_order_adjustments_campaign_id_campaigns'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_adjustments_order_id_orders'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'],
                                name=op.f('fk_order_adjustments_order_line_id_order_lines'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_order_adjustments')),
    )
    for column in ('order_id', 'order_line_id', 'campaign_id'):
        op.create_index(op.f(f'ix_order_adjustments_{column}'), 'order_adjustments', [column], unique=False)


def downgrade():
    for column in ('order_id', 'order_line_id', 'campaign_id'):
        op.drop_index(op.f(f'ix_order_adjustments_{column}'), table_name='order_adjustments')
    op.drop_table('order_adjustments')
    # Reverse order: SQLite drops a column in place only when no other column's CHECK names it
    # (promo_value's and promo_buy's name promo_type); PostgreSQL drops the CHECKs with them.
    for name, *_ in reversed(COLUMNS):
        op.drop_column('campaigns', name)
