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
