"""One-time submission tokens: a form that creates rows is saved once, however often it is
sent (a double click, a retry after a slow answer, the back button and submit again).

Each such form carries a random token in a hidden field (`OneSubmission`). The view claims the
token before it creates anything: the claim is a row in `submission_tokens`, written in the same
transaction as the rows the form creates, and the token is its primary key. A repeat sent one
after the other finds the row; a repeat sent at the same instant waits on the first one's
uncommitted row (PostgreSQL's unique index, SQLite's single writer) and then finds it. Either
way it is answered with the first result's page, and nothing is stored twice. A refused first
try rolls its claim back with everything else, so the form can be sent again.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

import sqlalchemy as sa
from flask import flash, redirect, request
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.wrappers import Response
from wtforms import HiddenField

from volunteer_app.core.errors import DomainError
from volunteer_app.extensions import Model, db

TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{32,64}")


class SubmissionToken(Model):
    """A form submission already saved, and the page its first answer led to."""

    __tablename__ = "submission_tokens"

    token: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    endpoint: Mapped[str] = mapped_column(sa.String(80))
    # Set before the commit that saves the form; empty only inside that transaction.
    result_url: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[dt.datetime]


class FormExpired(DomainError):
    status_code = 400


def new_token() -> str:
    return secrets.token_urlsafe(32)


class OneSubmission:
    """Mixin for a FlaskForm that creates rows: a hidden one-time token, rendered by
    `form.hidden_tag()` (or `form.submission_token()`), new each time the form is shown."""

    submission_token = HiddenField(default=new_token)


def claim(form: OneSubmission, *, now: dt.datetime) -> Response | None:
    """Claim this submission before the view creates anything. None: go on, it is the first.
    A response: it was saved before (or is being saved right now); answer with this, the first
    result's page. The view then calls `saved` with its own answer's address and commits."""
    # What was sent, not the field's data: a form posted without its token would otherwise
    # get a new default one and never be recognised as a repeat.
    sent = form.submission_token.raw_data
    token = sent[0] if sent else ""
    if not TOKEN_RE.fullmatch(token):
        raise FormExpired(_("This form is out of date. Please reload the page and send it again."))
    db.session.add(SubmissionToken(token=token, endpoint=request.endpoint or "", created_at=now))
    try:
        db.session.flush()
    except IntegrityError:
        # The token's row is there (and committed: the insert waited for it): a repeat.
        db.session.rollback()
        first = db.session.get(SubmissionToken, token)
        flash(_("That form was sent twice; it is saved once."), "info")
        return redirect(first.result_url if first and first.result_url else request.path, 303)
    return None


def saved(form: OneSubmission, result_url: str) -> str:
    """Record where the first answer leads, for the repeats; returns `result_url`."""
    claimed = db.session.get_one(SubmissionToken, form.submission_token.data)
    claimed.result_url = result_url
    db.session.flush()
    return result_url
