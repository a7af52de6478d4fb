"""The SMS log: filters, pages, and each coordinator seeing only their own organizations'."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest

from tests.factories import (
    make_coordinator,
    make_initiative,
    make_organization,
    make_shift,
    make_signup,
    make_user,
)
from volunteer_app.accounts.models import Role
from volunteer_app.core.db import utcnow
from volunteer_app.extensions import db as _db
from volunteer_app.sms.models import Direction, Message, MessageStatus

_keys = itertools.count(1)


def text(user=None, *, shift=None, **kw) -> Message:
    n = next(_keys)
    direction = kw.pop("direction", Direction.OUTBOUND)
    phone = user.phone if user is not None and user.phone else kw.pop("phone", "+12025550199")
    message = Message(
        direction=direction,
        status=kw.pop("status", MessageStatus.DELIVERED),
        idempotency_key=f"log-test:{n}",
        user_id=user.id if user else None,
        shift_id=shift.id if shift else None,
        to_phone=phone if direction == Direction.OUTBOUND else "+15005550006",
        from_phone=phone if direction == Direction.INBOUND else "+15005550006",
        body=kw.pop("body", f"Message number {n}"),
        kind=kw.pop("kind", "reminder"),
        created_at=kw.pop("created_at", utcnow()),
        **kw,
    )
    _db.session.add(message)
    _db.session.flush()
    return message


@pytest.fixture
def city(db, texter):
    """Two organizations, each with a shift, a volunteer and texts about them."""
    parks, library = make_organization("Parks"), make_organization("Library")
    park_shift = make_shift(
        make_initiative(parks, title="Tree planting"),
        starts_at=utcnow() + dt.timedelta(days=2),
        capacity=50,
    )
    library_shift = make_shift(
        make_initiative(library, title="Reading buddies"),
        starts_at=utcnow() + dt.timedelta(days=2),
    )
    planter, reader = texter(name="Pat Planter"), texter(name="Rae Reader")
    make_signup(planter, park_shift)
    make_signup(reader, library_shift)
    rows = {
        "park_reminder": text(planter, shift=park_shift, body="Park reminder"),
        "library_reminder": text(reader, shift=library_shift, body="Library reminder"),
        "planter_help": text(planter, body="Planter asked for help", kind="reply"),
        "reader_help": text(reader, body="Reader asked for help", kind="reply"),
        "stranger": text(
            None, body="Stranger said hi", direction=Direction.INBOUND, kind="in:text"
        ),
    }
    db.session.commit()
    return {
        "parks": parks,
        "library": library,
        "rows": rows,
        "planter": planter,
        "park_shift": park_shift,
    }


def shown(response) -> set[str]:
    page = response.get_data(as_text=True)
    return {body for body in re.findall(r'<p class="sms-body">([^<]*)</p>', page)}


def test_a_coordinator_sees_only_their_organizations_texts(db, client, auth, city):
    coordinator = make_coordinator(city["parks"])
    db.session.commit()
    auth.login(coordinator.email)
    response = client.get("/sms/log")
    assert response.status_code == 200
    assert shown(response) == {"Park reminder", "Planter asked for help"}


def test_an_admin_sees_everything(db, client, auth, city):
    admin = make_user(role=Role.ADMIN)
    db.session.commit()
    auth.login(admin.email)
    assert len(shown(client.get("/sms/log"))) == 5


def test_volunteers_may_not_read_the_log(db, client, auth, city):
    auth.login(city["planter"].email)
    assert client.get("/sms/log").status_code == 403
    auth.logout()
    assert client.get("/sms/log").status_code == 302  # to the login page


@pytest.fixture
def admin_client(db, client, auth):
    admin = make_user(role=Role.ADMIN)
    db.session.commit()
    auth.login(admin.email)
    return client


def test_filters(db, admin_client, texter):
    person = texter()
    now = utcnow()
    text(person, body="Failed one", status=MessageStatus.FAILED, error_code="30008")
    text(person, body="Undelivered one", status=MessageStatus.UNDELIVERED, error_code="30003")
    text(person, body="Delivered one", created_at=now - dt.timedelta(days=10))
    text(person, body="Inbound one", direction=Direction.INBOUND, kind="in:ok")
    text(None, body="Other phone", phone="+13125551212")
    db.session.commit()

    assert shown(admin_client.get("/sms/log?status=undelivered")) == {"Undelivered one"}
    assert shown(admin_client.get("/sms/log?status=failed")) == {"Failed one"}
    assert shown(admin_client.get("/sms/log?direction=inbound")) == {"Inbound one"}
    assert shown(admin_client.get("/sms/log?kind=in:ok")) == {"Inbound one"}
    assert shown(admin_client.get("/sms/log?phone=(312) 555-12")) == {"Other phone"}
    old_day = (now - dt.timedelta(days=10)).date()
    window = f"date_from={old_day - dt.timedelta(days=1)}&date_to={old_day + dt.timedelta(days=1)}"
    assert shown(admin_client.get(f"/sms/log?{window}")) == {"Delivered one"}
    page = admin_client.get("/sms/log?status=failed").get_data(as_text=True)
    assert "error 30008" in page and "1 segment" in page


def test_bad_filters_are_left_out_not_a_500(admin_client, db, texter):
    text(texter(), body="Still shown")
    db.session.commit()
    response = admin_client.get("/sms/log?status=exploded&date_from=yesterday&page=-3")
    assert response.status_code == 200
    assert shown(response) == {"Still shown"}


def test_pages_of_fifty_newest_first(admin_client, db, texter):
    person = texter()
    start = utcnow() - dt.timedelta(hours=2)
    for minute in range(60):
        text(person, body=f"Text {minute:02d}", created_at=start + dt.timedelta(minutes=minute))
    db.session.commit()
    first = admin_client.get("/sms/log")
    assert len(shown(first)) == 50 and "Text 59" in shown(first)
    second = admin_client.get("/sms/log?page=2")
    assert shown(second) == {f"Text {m:02d}" for m in range(10)}
    assert "Page 2 of 2" in second.get_data(as_text=True)


def test_query_count_does_not_grow_with_the_page(db, client, auth, city, texter, count_queries):
    coordinator = make_coordinator(city["parks"])
    db.session.commit()
    auth.login(coordinator.email)

    db.session.expire_all()  # as after the commit below: the viewer is loaded afresh
    with count_queries() as few:
        client.get("/sms/log")
    for n in range(30):
        person = texter()
        make_signup(person, city["park_shift"])
        text(person, shift=city["park_shift"], body=f"About the shift {n}")
        text(person, body=f"About nothing in particular {n}")
    db.session.commit()
    with count_queries() as many:
        response = client.get("/sms/log")
    assert len(shown(response)) == 50
    assert len(many) == len(few)


def _broadcast_from(org, client, auth, initiative, body: str) -> None:
    """A coordinator of `org` previews and sends an initiative broadcast, as in the browser."""
    coordinator = make_coordinator(org)
    _db.session.commit()
    auth.login(coordinator.email)
    url = f"/sms/broadcast/initiative/{initiative.id}"
    page = auth.post(url, {"body": body, "preview": "Preview"}).get_data(as_text=True)
    fields = {
        name: re.search(rf'name="{name}" type="hidden" value="([^"]*)"', page).group(1)
        for name in ("broadcast_id", "previewed")
    }
    assert auth.post(url, {"body": body, **fields, "send": "Send"}).status_code == 302
    auth.logout()


def test_a_broadcast_shows_only_in_the_log_of_the_organization_that_sent_it(
    db, client, auth, texter
):
    """Sam volunteers with both departments; Parks texts its volunteers. Public Works must not
    read that text, nor whom it went to."""
    parks, public_works = make_organization("Parks"), make_organization("Public Works")
    soon = utcnow() + dt.timedelta(days=2)
    planting = make_initiative(parks, title="Tree planting")
    make_signup(sam := texter(name="Sam Both"), make_shift(planting, starts_at=soon))
    make_signup(sam, make_shift(make_initiative(public_works), starts_at=soon + dt.timedelta(1)))
    db.session.commit()
    _broadcast_from(parks, client, auth, planting, "Gloves are at the shed.")

    seen = {}
    for who, org in (("parks", parks), ("public works", public_works)):
        auth.login(make_coordinator(org).email)
        page = client.get("/sms/log?kind=broadcast").get_data(as_text=True)
        seen[who] = ("Gloves are at the shed." in page, "Sam Both" in page)
        auth.logout()
    assert seen == {"parks": (True, True), "public works": (False, False)}
    auth.login(make_user(role=Role.ADMIN).email)
    assert "Gloves are at the shed." in client.get("/sms/log?kind=broadcast").get_data(as_text=True)


def test_a_broadcast_that_never_recorded_its_organization_shows_to_admins_only(
    db, client, auth, city
):
    text(city["planter"], body="Old broadcast", kind="broadcast")
    coordinator, admin = make_coordinator(city["parks"]), make_user(role=Role.ADMIN)
    db.session.commit()
    auth.login(coordinator.email)
    assert "Old broadcast" not in shown(client.get("/sms/log"))
    auth.logout()
    auth.login(admin.email)
    assert "Old broadcast" in shown(client.get("/sms/log"))
