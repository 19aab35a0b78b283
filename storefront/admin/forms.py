"""Admin forms. Every state change is a POST carrying a CSRF token (Flask-WTF)."""
from flask_wtf import FlaskForm


class RetrainForm(FlaskForm):
    """No fields: the CSRF token is the point (a forged POST must not start a training run)."""
