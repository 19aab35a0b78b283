"""The gated-asset contact form. A POST carries a CSRF token (Flask-WTF), like every form."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, StringField
from wtforms.validators import DataRequired, Email, Length


class AssetRequestForm(FlaskForm):
    name = StringField("Full name", validators=[DataRequired("Enter your name."), Length(max=120)])
    email = EmailField(
        "Work email",
        validators=[DataRequired("Enter your email."), Email("Enter a valid email address."), Length(max=254)],
    )
    company = StringField("Company", validators=[DataRequired("Enter your company."), Length(max=160)])
    consent = BooleanField(
        "I agree to be contacted about this resource and related products.",
        validators=[DataRequired("Please agree to be contacted to get this resource.")],
    )
