"""Admin -> Products -> Images: the upload form and the per-picture action form (POST + CSRF)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import HiddenField
from wtforms.validators import DataRequired

MAX_FILES_PER_UPLOAD = 10


class ImageUploadForm(FlaskForm):
    images = MultipleFileField("Pictures (JPEG, PNG, WebP or GIF)")

    def chosen(self) -> list:
        """The files actually chosen (a browser sends one empty part when none is)."""
        return [item for item in (self.images.data or []) if getattr(item, "filename", "")]


class ImageActionForm(FlaskForm):
    """Delete or show first: only the CSRF token and the picture's id (from the URL) matter."""

    confirm = HiddenField(default="1", validators=[DataRequired()])
