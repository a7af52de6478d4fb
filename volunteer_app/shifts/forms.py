"""Forms for signing up, cancelling and the calendar feed.

These actions take no input beyond who is asking and which shift or signup the URL names, so
the form is only its CSRF token; it exists so every POST is checked the same way.
"""

from flask_wtf import FlaskForm


class ActionForm(FlaskForm):
    """A one-button form: sign up, join the waitlist, cancel, rotate or revoke a feed link."""
