"""Shop forms. Every state change is a POST carrying a CSRF token (Flask-WTF)."""
from functools import cache

from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import EmailField, HiddenField, IntegerField, StringField
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Regexp

MAX_QUANTITY = 99


class AddToCartForm(FlaskForm):
    quantity = IntegerField(
        "Quantity",
        default=1,
        validators=[InputRequired("Enter a quantity."), NumberRange(1, MAX_QUANTITY, "Choose a quantity from 1 to %(max)s.")],
    )


@cache
def fresh_add_to_cart_fields() -> tuple[Markup, Markup]:
    """(label, input) of an untouched add-to-cart form's quantity, as WTForms renders them.

    Every product page shows this form and it only differs from page to page by the CSRF token
    (which the template writes itself): building and rendering the form on every page cost about
    5 % of the page (bench/page_profile.py). A form that failed validation is rendered by WTForms
    with its errors, as before."""
    quantity = AddToCartForm(formdata=None, meta={"csrf": False}).quantity
    return quantity.label(), quantity(type="number")


class UpdateCartForm(FlaskForm):
    quantity = IntegerField(
        "Quantity",
        validators=[InputRequired("Enter a quantity."), NumberRange(0, MAX_QUANTITY, "Choose a quantity from 0 to %(max)s.")],
    )


class RemoveFromCartForm(FlaskForm):
    """No fields: the CSRF token is the point."""


# Phones: each field says what it holds (``autocomplete``: the browser fills the address and the
# card) and the numeric ones open the number pad (``inputmode``). The expiry takes "MM/YY", "MMYY"
# or "MM / YY": a number pad has no slash.
NUMERIC = {"inputmode": "numeric"}


class CheckoutForm(FlaskForm):
    name = StringField("Full name", validators=[DataRequired("Enter your name."), Length(max=120)],
                       render_kw={"autocomplete": "name"})
    email = EmailField("Email", validators=[DataRequired("Enter your email."), Email("Enter a valid email address."), Length(max=254)],
                       render_kw={"autocomplete": "email", "inputmode": "email"})
    address_line = StringField("Address", validators=[DataRequired("Enter your street address."), Length(max=200)],
                               render_kw={"autocomplete": "street-address"})
    city = StringField("City", validators=[DataRequired("Enter your city."), Length(max=100)],
                       render_kw={"autocomplete": "address-level2"})
    postcode = StringField("Postcode", validators=[DataRequired("Enter your postcode."), Length(max=20)],
                           render_kw={"autocomplete": "postal-code"})
    country = StringField("Country", default="United States", validators=[DataRequired("Enter your country."), Length(max=60)],
                          render_kw={"autocomplete": "country-name"})
    card_number = StringField(
        "Card number",
        validators=[DataRequired("Enter a card number."), Regexp(r"^[\d -]{12,23}$", message="Card numbers contain 12 to 19 digits.")],
        render_kw={"autocomplete": "cc-number", **NUMERIC, "maxlength": 23},
    )
    expiry = StringField(
        "Expiry (MM/YY)",
        validators=[DataRequired("Enter the card's expiry date."),
                    Regexp(r"^\s*(0[1-9]|1[0-2])\s*/?\s*\d{2}\s*$", message="Use the MM/YY format.")],
        render_kw={"autocomplete": "cc-exp", **NUMERIC, "placeholder": "MM/YY", "maxlength": 7},
    )
    cvc = StringField("CVC", validators=[DataRequired("Enter the security code."), Regexp(r"^\d{3,4}$", message="The security code has 3 or 4 digits.")],
                      render_kw={"autocomplete": "cc-csc", **NUMERIC, "maxlength": 4})
    # The total the page showed: checkout charges it or nothing (a promotion may end in between).
    expected_total = HiddenField()
