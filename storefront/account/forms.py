from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from storefront.orders.accounts import MIN_PASSWORD_LENGTH


class EmailForm(FlaskForm):
    """One address: "forgot your password?", and the first step of a registration (the rest
    comes once the owner of the address has opened the link we send there)."""

    email = EmailField("Email", validators=[DataRequired("Enter your email."), Email("Enter a valid email address."), Length(max=254)])


class NewPasswordForm(FlaskForm):
    """A new password, typed twice (a reset)."""

    password = PasswordField(
        "Password",
        validators=[
            DataRequired("Choose a password."),
            Length(min=MIN_PASSWORD_LENGTH, max=128, message=f"Use {MIN_PASSWORD_LENGTH} to 128 characters."),
        ],
    )
    confirm = PasswordField("Repeat password", validators=[EqualTo("password", "The passwords do not match.")])


class FinishRegistrationForm(NewPasswordForm):
    """The second step of a registration, behind the emailed link: a name and a password."""

    name = StringField("Name", validators=[DataRequired("Enter your name."), Length(max=120)])


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email."), Email("Enter a valid email address.")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    remember = BooleanField("Keep me logged in")


class LogoutForm(FlaskForm):
    """No fields: logging out is a POST with a CSRF token."""


def _auto(value: str) -> dict:
    """What a browser's autofill (and a phone's keyboard) needs to know about a field."""
    return {"autocomplete": value}


class NameForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter your name."), Length(max=120)], render_kw=_auto("name"))


class ChangeEmailForm(FlaskForm):
    email = EmailField("New email", validators=[DataRequired("Enter the new address."),
                                                Email("Enter a valid email address."), Length(max=254)],
                       render_kw=_auto("email"))
    current_password = PasswordField("Current password", validators=[DataRequired("Enter your current password.")],
                                     render_kw=_auto("current-password"))


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField("Current password", validators=[DataRequired("Enter your current password.")],
                                     render_kw=_auto("current-password"))


class AddressForm(FlaskForm):
    """The shipping address checkout fills in (the same fields and limits as checkout's)."""

    name = StringField("Full name", validators=[DataRequired("Enter the name to ship to."), Length(max=120)],
                       render_kw=_auto("shipping name"))
    address_line = StringField("Address", validators=[DataRequired("Enter the street address."), Length(max=200)],
                               render_kw=_auto("shipping street-address"))
    city = StringField("City", validators=[DataRequired("Enter the city."), Length(max=100)],
                       render_kw=_auto("shipping address-level2"))
    postcode = StringField("Postcode", validators=[DataRequired("Enter the postcode."), Length(max=20)],
                           render_kw=_auto("shipping postal-code"))
    country = StringField("Country", default="United States",
                          validators=[DataRequired("Enter the country."), Length(max=60)],
                          render_kw=_auto("shipping country-name"))
