"""One commit per request (core/transaction.py): a view's writes are committed once when it
answers below 400, rolled back on a 4xx or a refusal; work after the commit runs only after a
commit; a refusal is answered the way the view said."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import get_flashed_messages
from werkzeug.wrappers import Response
from wtforms import StringField

from tests.factories import make_cause
from volunteer_app.core import transaction
from volunteer_app.core.errors import Conflict, DomainError
from volunteer_app.core.forms import ActionForm
from volunteer_app.reference.models import Cause


def _stored_slugs(engine) -> set[str]:
    """What another connection sees: only committed rows."""
    with engine.connect() as conn:
        return set(conn.scalars(sa.select(Cause.slug)))


@pytest.fixture
def commits(db):
    counted = []

    def count(conn):
        counted.append(conn)

    sa.event.listen(db.engine, "commit", count)
    yield counted
    sa.event.remove(db.engine, "commit", count)


def _post(app):
    return app.test_request_context("/somewhere", method="POST")


@pytest.mark.parametrize("status", [200, 302, 303])
def test_an_answer_below_400_commits_once(app, db, commits, status):
    with _post(app):
        make_cause("parks", "Parks")
        response = transaction._finish(Response(status=status))
    assert response.status_code == status
    assert len(commits) == 1
    assert _stored_slugs(db.engine) == {"parks"}


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422])
def test_a_4xx_rolls_back(app, db, commits, status):
    with _post(app):
        make_cause("parks", "Parks")
        transaction._finish(Response(status=status))
    assert commits == []
    assert _stored_slugs(db.engine) == set()
    assert db.session.scalars(sa.select(Cause)).all() == []


def test_after_commit_runs_only_after_a_commit(app, db):
    seen = []
    with _post(app):
        make_cause("parks", "Parks")
        transaction.after_commit(lambda: seen.append(_stored_slugs(db.engine)))
        assert seen == []  # not yet: nothing is committed
        transaction._finish(Response(status=303))
    assert seen == [{"parks"}]  # it ran once, and saw the committed row

    with _post(app):
        make_cause("trees", "Trees")
        transaction.after_commit(lambda: seen.append("refused"))
        transaction._finish(Response(status=400))
    assert seen == [{"parks"}]


def test_a_failing_after_commit_work_is_logged_not_raised(app, db, caplog):
    def broken():
        raise RuntimeError("mail server down")

    with _post(app):
        make_cause("parks", "Parks")
        transaction.after_commit(broken)
        response = transaction._finish(Response(status=303))
    assert response.status_code == 303
    assert _stored_slugs(db.engine) == {"parks"}
    assert "work after the commit failed" in caplog.text


def test_a_failed_commit_takes_back_the_success_message_and_skips_after_commit(app, db):
    seen = []
    make_cause("parks", "Parks")
    db.session.commit()
    with _post(app):
        from flask import flash

        flash("Saved!", "success")
        transaction.after_commit(lambda: seen.append("ran"))
        # A second row with the same unique slug, found only when the commit flushes it.
        db.session.add(Cause(slug="parks", name="Parks again"))
        with pytest.raises(sa.exc.IntegrityError):
            transaction._finish(Response(status=303))
        assert get_flashed_messages() == []
    assert seen == []
    assert db.session.scalars(sa.select(Cause.name)).all() == ["Parks"]


def test_a_refused_action_leaves_no_half_written_row_and_goes_where_the_view_said(app, db):
    with _post(app):
        transaction.refusal_goes_to("/back/here")
        make_cause("parks", "Parks")  # the first half of the action...
        response = app.make_response(
            app.handle_user_exception(DomainError("That cannot be done."))
        )  # ...then the service refuses
        response = transaction._finish(response)
        assert (response.status_code, response.location) == (303, "/back/here")
        assert get_flashed_messages(with_categories=True) == [("error", "That cannot be done.")]
    assert _stored_slugs(db.engine) == set()


def test_through_a_real_view_a_refused_signup_writes_nothing(app, db, client):
    """The shift's page POSTs to a shift that has started: the service refuses, the request
    rolls back, the browser goes back to the shift's page with the reason."""
    import datetime as dt

    from tests.conftest import AuthActions, csrf_token
    from tests.factories import make_shift, make_user
    from volunteer_app.core.db import utcnow
    from volunteer_app.shifts.models import Signup

    make_user(email="ana@example.org")
    shift = make_shift(starts_at=utcnow() - dt.timedelta(hours=1))
    db.session.commit()
    AuthActions(client).login("ana@example.org")
    token = csrf_token(client, f"/shifts/{shift.id}")
    response = client.post(f"/shifts/{shift.id}/signup", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.location.endswith(f"/shifts/{shift.id}")
    assert db.session.scalars(sa.select(Signup)).all() == []


class _NameForm(ActionForm):
    name = StringField()


def test_refusal_shows_puts_the_message_on_the_field_and_answers_with_the_page(app, db):
    with app.test_request_context("/form", method="POST", data={"name": "x"}):
        form = _NameForm(meta={"csrf": False})
        transaction.refusal_shows(lambda error: ("the form", 422), on=form.name)
        make_cause("parks", "Parks")
        response = app.make_response(app.handle_user_exception(Conflict("Name taken.")))
        response = transaction._finish(response)
        assert response.status_code == 422
        assert form.name.errors == ["Name taken."]
        assert get_flashed_messages() == []
    assert _stored_slugs(db.engine) == set()


def test_refusal_shows_without_a_field_flashes_and_keeps_the_pages_status(app, db):
    with _post(app):
        transaction.refusal_shows(lambda error: ("the form", error.status_code))
        response = app.make_response(app.handle_user_exception(Conflict("Taken.")))
        assert response.status_code == 409
        assert get_flashed_messages() == ["Taken."]


def test_lost_race_means_turns_a_unique_violation_into_the_refusal(app, db):
    make_cause("parks", "Parks")
    db.session.commit()
    with _post(app):
        taken = transaction.lost_race_means(lambda: Conflict("That name was just taken."))
        with pytest.raises(Conflict, match="just taken"), taken:
            db.session.add(Cause(slug="parks", name="Parks again"))
        # The session is usable again: the refusal may query, the page may render.
        assert db.session.scalars(sa.select(Cause.name)).all() == ["Parks"]


def test_a_write_in_a_get_commits_its_own_writing_block(app, db):
    from volunteer_app.core.db import writing

    with app.test_request_context("/page", method="GET"):
        db.session.scalars(sa.select(Cause)).all()  # the page reads first
        with writing(db.session):
            make_cause("parks", "Parks")
        assert _stored_slugs(db.engine) == {"parks"}
