"""Admin forms of the A/B tests. The same rules as ``storefront.experiments.management``, which
checks them again with the registry and the database at hand."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange

from storefront.experiments.management import DEFAULT_MIN_CLICKS, DEFAULT_SHARE_PERCENT, Choice


class ExperimentForm(FlaskForm):
    widget = SelectField("Widget", validate_choice=True)
    challenger_version = SelectField("Challenger version", validate_choice=True)
    # InputRequired, not DataRequired: a value that does not parse keeps its own message
    share_percent = IntegerField(
        "Challenger's share of shoppers (%)", default=DEFAULT_SHARE_PERCENT,
        validators=[InputRequired("Enter the challenger's share."),
                    NumberRange(1, 99, "The challenger's share must be between 1 and 99%%.")])  # %-formatted
    min_clicks = IntegerField(
        "Minimum clicks per arm before a lift is shown", default=DEFAULT_MIN_CLICKS,
        validators=[InputRequired("Enter the minimum sample."),
                    NumberRange(1, 10_000_000, "The minimum sample must be between 1 and 10,000,000 clicks.")])

    def set_choices(self, widgets: list[Choice], versions: list[Choice]) -> None:
        self.widget.choices = [SelectChoice(c.value, c.label) for c in widgets]
        self.challenger_version.choices = [SelectChoice(c.value, c.label) for c in versions]


class ExperimentActionForm(FlaskForm):
    """No fields: promoting or stopping is a POST with a CSRF token."""
