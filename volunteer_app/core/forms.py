"""Forms every feature shares."""

from __future__ import annotations

from flask_wtf import FlaskForm


class ActionForm(FlaskForm):
    """A one-button form (sign up, cancel, confirm, publish, remove, accept...): the action
    takes no input beyond who is asking and what the URL names, so the form is only its CSRF
    token; it exists so every such POST is checked the same way."""
