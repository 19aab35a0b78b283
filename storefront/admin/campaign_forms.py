"""Admin campaign forms. The same rules as ``storefront.campaigns.management`` (which checks them again
with the database at hand: a unique name), here for messages next to the right field."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from storefront.models import OFFER_KIND_LABELS

NO_CATEGORY = 0
# InputRequired, not DataRequired: a value that does not parse keeps its own message.
# datetime-local inputs send "2026-05-01T09:30"; the first format is also how values render.
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


class CampaignForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the campaign a name."), Length(max=120)])
    target_category_id = SelectField("Target category", coerce=int, default=NO_CATEGORY)
    target_brand = StringField("Target brand", validators=[Optional(), Length(max=80)],
                               render_kw={"list": "known-brands", "autocomplete": "off"})
    offer = StringField("Offer (on the banner)", validators=[DataRequired("Write the offer, e.g. 15% off."), Length(max=40)],
                        render_kw={"placeholder": "15% off"})
    offer_kind = SelectField("Kind of offer", choices=[SelectChoice(k, label) for k, label in OFFER_KIND_LABELS.items()])
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
        return valid


class CampaignSwitchForm(FlaskForm):
    """No fields: activating or deactivating is a POST with a CSRF token."""
