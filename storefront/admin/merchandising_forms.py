"""Admin -> Merchandising's forms. The same checks as
``storefront.recommendations.merchandising.management`` (which runs them again with the
database at hand: products that exist, the pin limit across rules), here for messages next to
the right field."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, FloatField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from storefront.admin.campaign_forms import DATETIME_FORMATS
from storefront.models.merchandising import BOOST, BRAND, BURY, CAMPAIGN, CATEGORY, EXCLUDE, PIN, PRODUCTS

NONE_CHOSEN = 0
KIND_LABELS = {
    BOOST: "Boost: move matching items up (factor above 1)",
    BURY: "Bury: move matching items down (factor below 1)",
    PIN: "Pin: put products at positions",
    EXCLUDE: "Exclude: never show matching items",
}
TARGET_LABELS = {BRAND: "A brand", CATEGORY: "A category (and its subcategories)",
                 CAMPAIGN: "A campaign's products", PRODUCTS: "Products (by id)"}
MAX_LISTED = 50  # product ids in one rule: a longer list is a category or a brand


def numbers(text: str | None) -> tuple[int, ...]:
    """``"12, 40 7"`` -> (12, 40, 7); ValueError on anything but positive whole numbers."""
    parts = [p for p in (text or "").replace(",", " ").split() if p]
    if any(not (p.isascii() and p.isdigit()) or len(p) > 18 for p in parts):
        raise ValueError("whole numbers only, separated by commas")
    return tuple(int(p) for p in parts)


def _number_list(form, field) -> None:
    try:
        found = numbers(field.data)
    except ValueError:
        raise ValidationError("Write whole numbers separated by commas, e.g. 12, 40.") from None
    if len(found) > MAX_LISTED:
        raise ValidationError(f"List at most {MAX_LISTED}.")


class RuleForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the rule a name."), Length(max=120)],
                       render_kw={"placeholder": "Lumen week"})
    widget = SelectField("Widget")
    kind = SelectField("Rule", choices=[SelectChoice(k, label) for k, label in KIND_LABELS.items()])
    target_kind = SelectField("Applies to", choices=[SelectChoice(k, label) for k, label in TARGET_LABELS.items()])
    brand = StringField("Brand", validators=[Optional(), Length(max=80)],
                        render_kw={"list": "known-brands", "autocomplete": "off"})
    category_id = SelectField("Category", coerce=int, default=NONE_CHOSEN)
    campaign_id = SelectField("Campaign", coerce=int, default=NONE_CHOSEN)
    product_ids = StringField("Product ids", validators=[_number_list], render_kw={"placeholder": "12, 40"})
    positions = StringField("Positions (pin: 1 is first, one per product)", validators=[_number_list],
                            render_kw={"placeholder": "1, 3"})
    factor = FloatField("Factor (boost above 1, bury below 1)", validators=[Optional()],
                        render_kw={"placeholder": "1.5", "step": "any"})
    starts_at = DateTimeLocalField("Starts (UTC)", format=DATETIME_FORMATS,
                                   validators=[InputRequired("Enter when the rule starts.")])
    ends_at = DateTimeLocalField("Ends (UTC, empty: no end)", format=DATETIME_FORMATS, validators=[Optional()])
    is_active = BooleanField("Active (applied while within its dates)", default=True)

    def set_choices(self, widgets: list[tuple[str, str]], categories: list[tuple[int, str]],
                    campaigns: list[tuple[int, str]]) -> None:
        self.widget.choices = [SelectChoice(value, label) for value, label in widgets]
        self.category_id.choices = [SelectChoice(NONE_CHOSEN, "— choose —"),
                                    *(SelectChoice(value, label) for value, label in categories)]
        self.campaign_id.choices = [SelectChoice(NONE_CHOSEN, "— choose —"),
                                    *(SelectChoice(value, label) for value, label in campaigns)]

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        kind, target = self.kind.data, self.target_kind.data
        if kind in (BOOST, BURY) and self.factor.data is None and not self.factor.errors:
            self.factor.errors.append("Enter the factor, e.g. 1.5 to boost or 0.5 to bury.")
            valid = False
        if kind == PIN and target != PRODUCTS:
            self.target_kind.errors.append("A pin places products: choose Products and list them.")
            valid = False
        starts, ends = self.starts_at.data, self.ends_at.data
        if starts and ends and ends <= starts:
            self.ends_at.errors.append("The rule must end after it starts.")
            valid = False
        return valid


class RuleActionForm(FlaskForm):
    """No fields: switching a rule on or off, or deleting it, is a POST with a CSRF token."""
