"""One transaction per request: the request commits once, after its view has answered.

A view validates its input, calls a service and says what to answer; it never commits or
rolls back. When the answer is made, `_finish` commits if the status says the action
succeeded (below 400: a page, a redirect) and rolls back otherwise (a 4xx form error, a
refusal page), as Indico's request handler and pyramid_tm do. Whatever is still open when the
request ends (an unexpected error) is rolled back at teardown.

A `DomainError` raised by a service travels to the one handler in web.py, which rolls back
and asks `refusal_answer` what this view wants said: a view names that before it calls the
service, with `refusal_goes_to(url)` (the message is flashed and the browser sent there) or
`refusal_shows(page)` (the form is shown again with the message on it). A view that names
nothing gets web.py's default: back to the page the form came from, or an error page.

Work that must wait until the change is committed (a mail that points at new rows) is handed
to `after_commit`; it runs only after a commit that succeeded and is dropped on a rollback.

A lost race (another request inserted the same unique value between our check and our
insert) is turned into a refusal with `lost_race_means`. Writes inside a GET still need
`core.db.writing()`, whose block commits on its own. The CLI and the SMS worker are not
requests: they commit themselves. So does the SMS webhook (see sms/views.py), which must
answer Twilio even when its commit fails and retries a transaction that lost a race.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, flash, g, message_flashed, redirect, session
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from volunteer_app.core.errors import DomainError
from volunteer_app.extensions import db

logger = logging.getLogger(__name__)

# What a refused view answers, given the refusal (after the rollback).
RefusalPage = Callable[[DomainError], ResponseReturnValue]

_ON_REFUSAL = "transaction_on_refusal"
_AFTER_COMMIT = "transaction_after_commit"
_FLASHED = "transaction_flashed"


def init_app(app: Flask) -> None:
    """Register last in create_app: after_request hooks run last-registered first, so the
    commit happens before the others see the response (and a failed commit's answer gets
    their headers too)."""
    app.after_request(_finish)
    app.teardown_request(_roll_back_what_is_left)
    message_flashed.connect(_remember_flash, app)


# ---------------------------------------------------------------------------------------------
# What a view says about its refusals


def refusal_goes_to(url: str) -> None:
    """If a service refuses this request's action, flash the reason and redirect to `url`
    (303: the browser follows with a GET)."""

    def go(error: DomainError) -> Response:
        flash(error.message, "error")
        return redirect(url, 303)

    setattr(g, _ON_REFUSAL, go)


# `refusal_shows(page, on=PAGE)`: the page itself shows `error.message`.
PAGE = "page"


def refusal_shows(page: RefusalPage, *, on: Any = None) -> None:
    """If a service refuses this request's action, answer `page(error)`: typically the same
    form again, with its status. The reason is shown on `on`: a field (its errors), a form
    (the field a FieldError names, else above the form), None (flashed) or PAGE (by `page`)."""

    def show(error: DomainError) -> ResponseReturnValue:
        show_on(on, error)
        return page(error)

    setattr(g, _ON_REFUSAL, show)


def show_on(target: Any, error: DomainError) -> None:
    """Put a refusal's message where people will see it: see `refusal_shows`."""
    if target is None:
        flash(error.message, "error")
        return
    if target is PAGE:
        return
    if hasattr(target, "_fields"):  # a form: the field the refusal names, if it has one
        field = getattr(target, getattr(error, "field", None) or "", None)
        if field is None or not hasattr(field, "errors"):
            target.form_errors.append(error.message)
            return
        target = field
    target.errors = [*target.errors, error.message]


def refusal_answer(error: DomainError) -> ResponseReturnValue | None:
    """What this view said to answer a refusal with (None: it said nothing). Called by web.py's
    DomainError handler once the transaction is rolled back."""
    chosen = g.get(_ON_REFUSAL)
    return None if chosen is None else chosen(error)


@contextmanager
def lost_race_means(refusal: Callable[[], DomainError]) -> Iterator[None]:
    """An IntegrityError in the block means another request took the same unique value
    between our check and our insert: roll back, then raise `refusal()` (which may query, as
    the session is usable again). The block ends with a flush, so the race shows here, not at
    the request's commit."""
    try:
        yield
        db.session.flush()
    except sa.exc.IntegrityError as exc:
        db.session.rollback()
        raise refusal() from exc


# ---------------------------------------------------------------------------------------------
# After the commit


def after_commit(work: Callable[[], object]) -> None:
    """Run `work` once this request's transaction is committed; never if it is rolled back.
    A failure is logged, not shown: the action itself is saved by then."""
    g.setdefault(_AFTER_COMMIT, []).append(work)


def _run_after_commit(works: list[Callable[[], object]]) -> None:
    for work in works:
        try:
            work()
        except Exception:
            logger.exception("work after the commit failed: %r", work)


# ---------------------------------------------------------------------------------------------
# The request's end


def _remember_flash(sender, message, category, **extra) -> None:
    g.setdefault(_FLASHED, []).append((category, message))


def _finish(response: Response) -> Response:
    works = g.pop(_AFTER_COMMIT, [])
    if response.status_code >= 400:
        db.session.rollback()
        return response
    try:
        db.session.commit()
    except Exception as exc:
        return _commit_failed(exc)
    _run_after_commit(works)
    return response


def _commit_failed(exc: Exception) -> Response:
    """The commit itself failed (a constraint checked only at commit, the connection lost):
    nothing was saved, so the success message the view flashed is taken back and the error
    is answered as if the view had raised it (a DomainError as its refusal, the rest by the
    app's error handlers, a 500 at worst)."""
    db.session.rollback()
    flashed = g.pop(_FLASHED, [])
    if flashed and "_flashes" in session:
        left = list(session["_flashes"])
        for message in flashed:
            if message in left:
                left.remove(message)
        session["_flashes"] = left
    return current_app.make_response(current_app.handle_user_exception(exc))


def _roll_back_what_is_left(error: BaseException | None) -> None:
    db.session.rollback()
