"""Forms of Admin -> Products and Admin -> Orders. The filters are GET forms (no CSRF: they
change nothing); every form that changes something is a POST with a CSRF token. The services
(``storefront.catalog.management``, ``storefront.orders.management``) check again."""
from __future__ import annotations

from collections.abc import Sequence

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, DecimalField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from storefront.catalog.management import MAX_PRICE, MAX_STOCK, STOCK_IN, STOCK_OUT
from storefront.models.order_history import ORDER_STATUSES

ALL = ""
ANY_CATEGORY = 0
QUANTITY_PREFIX = "qty_"


class ProductFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Search", validators=[Optional(), Length(max=100)],
                    render_kw={"placeholder": "name, SKU or brand", "type": "search"})
    category = SelectField("Category", coerce=int, default=ANY_CATEGORY)
    active = SelectField("On sale", choices=[SelectChoice(ALL, "all"), SelectChoice("yes", "active"),
                                             SelectChoice("no", "inactive")], default=ALL)
    stock = SelectField("Stock", choices=[SelectChoice(ALL, "all"), SelectChoice(STOCK_IN, "in stock"),
                                          SelectChoice(STOCK_OUT, "out of stock")], default=ALL)

    def set_categories(self, choices: Sequence[tuple[int, str]]) -> None:
        self.category.choices = [SelectChoice(ANY_CATEGORY, "all categories"),
                                 *(SelectChoice(value, label) for value, label in choices)]


class ProductEditForm(FlaskForm):
    price = DecimalField("Price", places=2, validators=[
        InputRequired("Enter a price."), NumberRange(min=0.01, max=MAX_PRICE, message="Enter a price from 0.01.")])
    stock = IntegerField("Stock (units)", validators=[
        InputRequired("Enter the stock, 0 or more."),
        NumberRange(min=0, max=MAX_STOCK, message=f"Enter a stock from 0 to {MAX_STOCK:,}.")])
    active = BooleanField("On sale (shown in the shop and its recommendations)")
    # The stock this form showed: a sale in between is not silently overwritten.
    stock_seen = IntegerField(widget=HiddenInput(), validators=[InputRequired("Reload the page and try again.")])


class OrderFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField("Status", choices=[SelectChoice(ALL, "all"),
                                            *(SelectChoice(s, s) for s in ORDER_STATUSES)], default=ALL)
    placed_from = DateField("Placed from", validators=[Optional()])
    placed_to = DateField("to", validators=[Optional()])
    q = StringField("Search", validators=[Optional(), Length(max=100)],
                    render_kw={"placeholder": "reference, email or name", "type": "search"})

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.placed_from.data and self.placed_to.data and self.placed_to.data < self.placed_from.data:
            self.placed_to.errors.append("The end is before the start.")
            valid = False
        return valid


RESTOCK_LABEL = "Put the refunded items back in stock"


class OrderActionForm(FlaskForm):
    """Ship, deliver, cancel and the full refund: a POST with a CSRF token (and, for the refund,
    whether the items go back into stock). ``restock`` has no default: a POST without it means
    "no"; the page ticks it when it first shows the form."""

    restock = BooleanField(RESTOCK_LABEL)


def refund_lines_form(line_ids: Sequence[int]) -> FlaskForm:
    """A per-line refund: one quantity field per line (``qty_<line id>``, empty or 0 = none),
    and whether the units go back into stock. The lines are the order's, so the class is built
    per request."""

    class RefundLinesForm(FlaskForm):
        restock = BooleanField(RESTOCK_LABEL)

    for line_id in line_ids:
        setattr(RefundLinesForm, f"{QUANTITY_PREFIX}{line_id}", IntegerField(
            "Units to refund", default=0,
            validators=[Optional(), NumberRange(min=0, max=1_000_000, message="Enter a number of units, 0 or more.")],
            render_kw={"min": 0, "inputmode": "numeric"}))
    return RefundLinesForm()


def refund_quantities(form: FlaskForm) -> dict[int, int]:
    """line id -> units, from a validated :func:`refund_lines_form` (empty fields are 0)."""
    return {int(name[len(QUANTITY_PREFIX):]): int(field.data or 0) for name, field in form._fields.items()
            if name.startswith(QUANTITY_PREFIX)}
