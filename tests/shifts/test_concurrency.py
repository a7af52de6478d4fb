"""Two people can never take the last spot: real threads, separate connections, one shift."""

from __future__ import annotations

import datetime as dt
import threading

import sqlalchemy as sa

from tests.factories import make_shift, make_user
from volunteer_app.accounts.models import User
from volunteer_app.extensions import db as _db
from volunteer_app.shifts import services
from volunteer_app.shifts.models import Shift, Signup, SignupStatus


def _race(app, worker, count: int) -> list[BaseException]:
    """Run `worker(i)` in `count` threads released at the same instant."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        with app.app_context():  # its own session, so its own connection
            barrier.wait()
            try:
                worker(i)
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_fifty_concurrent_signups_for_five_spots_confirm_exactly_five(app, db, now):
    shift_id = make_shift(starts_at=now + dt.timedelta(days=1), capacity=5).id
    user_ids = [make_user().id for _ in range(50)]
    db.session.commit()

    def sign_up(i: int) -> None:
        user = _db.session.get(User, user_ids[i])
        shift = _db.session.get(Shift, shift_id)
        services.signup_for_shift(user, shift, now=now)
        _db.session.commit()

    errors = _race(app, sign_up, 50)

    assert errors == []
    db.session.expire_all()
    statuses = db.session.scalars(sa.select(Signup.status).where(Signup.shift_id == shift_id)).all()
    assert statuses.count(SignupStatus.CONFIRMED) == 5
    assert statuses.count(SignupStatus.WAITLISTED) == 45
    positions = db.session.scalars(
        sa.select(Signup.waitlist_position).where(Signup.status == SignupStatus.WAITLISTED)
    ).all()
    assert sorted(positions) == list(range(1, 46))
    assert db.session.get(Shift, shift_id).spots_taken == 5


def test_concurrent_cancels_and_signups_never_overfill(app, db, now):
    shift_id = make_shift(starts_at=now + dt.timedelta(days=1), capacity=3).id
    holders = [make_user() for _ in range(3)]
    shift = db.session.get(Shift, shift_id)
    holder_signups = [services.signup_for_shift(h, shift, now=now).signup.id for h in holders]
    newcomers = [make_user().id for _ in range(12)]
    db.session.commit()

    def act(i: int) -> None:
        if i < 3:
            services.cancel_signup(_db.session.get(Signup, holder_signups[i]), now=now)
        else:
            user = _db.session.get(User, newcomers[i - 3])
            services.signup_for_shift(user, _db.session.get(Shift, shift_id), now=now)
        _db.session.commit()

    errors = _race(app, act, 15)

    assert errors == []
    db.session.expire_all()
    confirmed = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Signup)
        .where(Signup.shift_id == shift_id, Signup.status == SignupStatus.CONFIRMED)
    )
    assert confirmed == 3
    assert db.session.get(Shift, shift_id).spots_taken == 3
