"""Shop forms. Every state change is a POST carrying a CSRF token (Flask-WTF)."""
from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, StringField
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Regexp

MAX_QUANTITY = 99


class AddToCartForm(FlaskForm):
    quantity = IntegerField(
        "Quantity",
        default=1,
        validators=[InputRequired("Enter a quantity."), NumberRange(1, MAX_QUANTITY, "Choose a quantity from 1 to %(max)s.")],
    )


class UpdateCartForm(FlaskForm):
    quantity = IntegerField(
        "Quantity",
        validators=[InputRequired("Enter a quantity."), NumberRange(0, MAX_QUANTITY, "Choose a quantity from 0 to %(max)s.")],
    )


class RemoveFromCartForm(FlaskForm):
    """No fields: the CSRF token is the point."""


class CheckoutForm(FlaskForm):
    name = StringField("Full name", validators=[DataRequired("Enter your name."), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired("Enter your email."), Email("Enter a valid email address."), Length(max=254)])
    address_line = StringField("Address", validators=[DataRequired("Enter your street address."), Length(max=200)])
    city = StringField("City", validators=[DataRequired("Enter your city."), Length(max=100)])
    postcode = StringField("Postcode", validators=[DataRequired("Enter your postcode."), Length(max=20)])
    country = StringField("Country", default="United States", validators=[DataRequired("Enter your country."), Length(max=60)])
    card_number = StringField(
        "Card number",
        validators=[DataRequired("Enter a card number."), Regexp(r"^[\d -]{12,23}$", message="Card numbers contain 12 to 19 digits.")],
    )
    expiry = StringField(
        "Expiry (MM/YY)",
        validators=[DataRequired("Enter the card's expiry date."), Regexp(r"^(0[1-9]|1[0-2])/\d{2}$", message="Use the MM/YY format.")],
    )
    cvc = StringField("CVC", validators=[DataRequired("Enter the security code."), Regexp(r"^\d{3,4}$", message="The security code has 3 or 4 digits.")])
