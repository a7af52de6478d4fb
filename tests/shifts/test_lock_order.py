"""One lock order everywhere: a shift's row before any person's, so two transactions that
need both can only queue behind each other, never deadlock.

Each case holds a shift's lock in another connection, starts a service that needs that shift,
and once the service waits for it, takes the person's row lock itself (NOWAIT): that succeeds
only if the waiting service holds nothing on the person yet. Row locks are PostgreSQL's;
SQLite serialises whole transactions and has nothing to order.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
import sqlalchemy as sa

from tests.factories import make_shift, make_signup, make_user
from volunteer_app.accounts.models import User
from volunteer_app.extensions import db as _db
from volunteer_app.shifts.models import Shift, Signup, SignupStatus
from volunteer_app.shifts.services import (
    add_new_walk_in,
    add_walk_in,
    cancel_signup,
    signup_for_shift,
)
from volunteer_app.sms.inbound import handle_inbound

PHONE = "+12025550142"


def _web_signup(person_id, shift_id, now):
    signup_for_shift(_db.session.get(User, person_id), _db.session.get(Shift, shift_id), now=now)


def _join_by_text(person_id, shift_id, now):
    # The person never agreed to texts: this JOIN records their consent, a write to their row.
    code = _db.session.get(Shift, shift_id).code
    handle_inbound(PHONE, f"JOIN {code}", "SMlockorder1", now)


def _drop_by_text(person_id, shift_id, now):
    code = _db.session.get(Shift, shift_id).code
    handle_inbound(PHONE, f"DROP {code}", "SMlockorder2", now)


def _walk_in(person_id, shift_id, now):
    add_walk_in(_db.session.get(User, person_id), _db.session.get(Shift, shift_id), now=now)


def _walk_in_by_phone(person_id, shift_id, now):
    # Agreeing to texts at the table records consent on the existing person's row.
    add_new_walk_in("Sam", PHONE, _db.session.get(Shift, shift_id), agreed_to_texts=True, now=now)


def _cancel(person_id, shift_id, now):
    signup = _db.session.scalar(
        sa.select(Signup).where(Signup.user_id == person_id, Signup.shift_id == shift_id)
    )
    cancel_signup(signup, now=now)


@pytest.mark.parametrize(
    ("action", "signed_up"),
    [
        (_web_signup, False),
        (_join_by_text, False),
        (_walk_in, False),
        (_walk_in_by_phone, False),
        (_drop_by_text, True),
        (_cancel, True),
    ],
    ids=["web signup", "JOIN text", "walk-in", "walk-in by phone", "DROP text", "cancel"],
)
def test_a_service_waiting_for_a_shift_holds_no_lock_on_the_person(
    app, db, now, backend, action, signed_up
):
    if backend != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    person = make_user(phone=PHONE, name="Sam")
    shift = make_shift(starts_at=now + dt.timedelta(days=3))
    if signed_up:
        make_signup(person, shift, status=SignupStatus.CONFIRMED)
    person_id, shift_id = person.id, shift.id
    db.session.commit()

    errors: list[BaseException] = []

    def run() -> None:
        with app.app_context():
            try:
                action(person_id, shift_id, now)
                _db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - asserted in the test's thread
                errors.append(exc)
            finally:
                _db.session.remove()

    holder = db.engine.connect()
    watcher = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    service = threading.Thread(target=run)
    try:
        holder.execute(
            sa.select(Shift.id).where(Shift.id == shift_id).with_for_update(key_share=True)
        )
        service.start()
        waiting = sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")
        deadline = time.monotonic() + 20
        while watcher.scalar(waiting) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert watcher.scalar(waiting) > 0, "the service never waited for the shift"
        # Raises LockNotAvailable if the waiting service already wrote or locked the person.
        holder.execute(
            sa.select(User.id)
            .where(User.id == person_id)
            .with_for_update(key_share=True, nowait=True)
        )
        holder.rollback()
        service.join(timeout=30)
    finally:
        holder.close()
        watcher.close()
    assert errors == []
