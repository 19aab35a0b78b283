"""Admin campaign forms. The same rules as ``storefront.campaigns.management`` (which checks them again
with the database at hand: a unique name, the products' SKUs), here for messages next to the right field."""
from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from storefront.models.campaigns import AMOUNT_OFF, BUY_N_GET_ONE, MAX_BUY, PERCENT_OFF, PROMO_TYPE_LABELS

NO_CATEGORY = 0
MAX_AMOUNT = Decimal("100000")
# InputRequired, not DataRequired: a value that does not parse keeps its own message.
# datetime-local inputs send "2026-05-01T09:30"; the first format is also how values render.
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


class CampaignForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the campaign a name."), Length(max=120)])
    target_category_id = SelectField("Target category (and everything in it)", coerce=int, default=NO_CATEGORY)
    target_brand = StringField("Target brand", validators=[Optional(), Length(max=80)],
                               render_kw={"list": "known-brands", "autocomplete": "off"})
    target_skus = StringField("Only these products (SKUs, comma-separated; empty: all of the target)",
                              validators=[Optional(), Length(max=2000)], render_kw={"autocomplete": "off"})
    promo_type = SelectField("Offer", choices=[SelectChoice(k, label) for k, label in PROMO_TYPE_LABELS.items()])
    promo_value = DecimalField("Percent, or amount off each item ($)", places=2, validators=[Optional()],
                               render_kw={"inputmode": "decimal"})
    promo_buy = IntegerField("Buy how many to get one free", validators=[Optional()], render_kw={"inputmode": "numeric"})
    offer = StringField("Badge, for an offer without a discount (e.g. New season)",
                        validators=[Optional(), Length(max=40)], render_kw={"placeholder": "New season"})
    headline = StringField("Headline", validators=[DataRequired("Write a headline."), Length(max=120)])
    body = TextAreaField("Text", validators=[Optional(), Length(max=500)], render_kw={"rows": 3})
    starts_at = DateTimeLocalField("Starts (UTC)", format=DATETIME_FORMATS,
                                   validators=[InputRequired("Enter when the campaign starts.")])
    ends_at = DateTimeLocalField("Ends (UTC)", format=DATETIME_FORMATS,
                                 validators=[InputRequired("Enter when the campaign ends.")])
    is_active = BooleanField("Active (shown while within its dates)", default=True)

    def set_categories(self, choices: list[tuple[int, str]]) -> None:
        self.target_category_id.choices = [
            SelectChoice(NO_CATEGORY, "— no category —"), *(SelectChoice(value, label) for value, label in choices)
        ]

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not self.target_category_id.data and not (self.target_brand.data or "").strip():
            self.target_category_id.errors.append("Choose a category or a brand (or both) for the banner to lead to.")
            valid = False
        starts, ends = self.starts_at.data, self.ends_at.data
        if starts and ends and ends <= starts:
            self.ends_at.errors.append("The campaign must end after it starts.")
            valid = False
        return self._validate_offer() and valid

    def _validate_offer(self) -> bool:
        """The value the chosen offer needs, in its range (the others' values are ignored)."""
        kind, value, buy = self.promo_type.data, self.promo_value.data, self.promo_buy.data
        if value is not None and not value.is_finite():  # "NaN" parses, and cannot be compared
            value = None
        message = None
        if kind == PERCENT_OFF and (value is None or not Decimal("0") < value <= Decimal("100")):
            message = (self.promo_value, "Enter a percentage above 0, at most 100.")
        elif kind == AMOUNT_OFF and (value is None or not Decimal("0") < value <= MAX_AMOUNT):
            message = (self.promo_value, "Enter the amount taken off each item, above $0.")
        elif kind == BUY_N_GET_ONE and (buy is None or not 1 <= buy <= MAX_BUY):
            message = (self.promo_buy, f"Enter how many to buy, 1 to {MAX_BUY}.")
        if message is None:
            return True
        field, text = message
        if not field.errors:  # "Not a valid decimal value" says it already
            field.errors = [*field.errors, text]
        return False


class CampaignSwitchForm(FlaskForm):
    """No fields: activating or deactivating is a POST with a CSRF token."""


