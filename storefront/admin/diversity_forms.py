"""Admin -> Diversity's form: one level per model-filled widget, saved together (POST + CSRF)."""
from __future__ import annotations

from collections.abc import Sequence

from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from storefront.models.widget_settings import DIVERSITY_LEVELS

FIELD_PREFIX = "level_"


def diversity_form(rows: Sequence, labels: dict[str, str]) -> FlaskForm:
    """A form with one select per widget of ``rows`` (``widget``, ``title``, ``level``); the
    widgets come from the registry, so the class is built per request."""

    class DiversityForm(FlaskForm):
        pass

    for row in rows:
        setattr(DiversityForm, FIELD_PREFIX + row.widget, SelectField(
            f"{row.title} ({row.widget})", choices=[SelectChoice(level, labels[level]) for level in DIVERSITY_LEVELS],
            default=row.level, validate_choice=True))
    return DiversityForm()


def submitted_levels(form: FlaskForm) -> dict[str, str]:
    """widget -> level, from a validated form."""
    return {name[len(FIELD_PREFIX):]: field.data for name, field in form._fields.items()
            if name.startswith(FIELD_PREFIX)}
