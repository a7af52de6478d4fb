"""Coordinator broadcasts: preview who will (not) receive a text and what it costs, then queue
it once, only for the coordinator's own organizations' shifts and initiatives."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from tests.factories import (
    make_coordinator,
    make_initiative,
    make_organization,
    make_shift,
    make_signup,
    make_user,
)
from tests.sms.conftest import messages, new_phone
from volunteer_app.accounts.models import PhoneStatus, Role
from volunteer_app.core.db import utcnow
from volunteer_app.sms import broadcast
from volunteer_app.sms.models import MessageStatus


@pytest.fixture
def org(db):
    return make_organization("Parks Department")


@pytest.fixture
def shift(db, org):
    return make_shift(
        make_initiative(org, title="Tree planting"), starts_at=utcnow() + dt.timedelta(days=3)
    )


@pytest.fixture
def roster(db, shift, texter):
    """Two people who can be texted, one of each reason not to, and one waiting."""
    people = {
        "ana": texter(name="Ana"),
        "ben": texter(name="Ben", preferred_language="es"),
        "no_consent": make_user(phone=new_phone()),
        "opted_out": texter(sms_opted_out_at=utcnow()),
        "no_phone": make_user(),
        "bad_phone": texter(phone_status=PhoneStatus.INVALID),
    }
    for person in people.values():
        make_signup(person, shift)
    people["waiting"] = texter(name="Wanda")
    make_signup(people["waiting"], shift, "waitlisted")
    make_signup(texter(name="Gone"), shift, "cancelled")
    db.session.commit()
    return people


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', page)
    assert match, f"no hidden {name}"
    return match.group(1)


# --- Services ------------------------------------------------------------------------------


def test_preview_counts_recipients_exclusions_and_segments(db, shift, roster):
    audience = broadcast.shift_audience(shift)
    preview = broadcast.preview_broadcast(audience, "Bring gloves!", sender="Parks Department")
    assert {p.name for p in preview.recipients} == {"Ana", "Ben"}
    assert preview.excluded == {"no_consent": 1, "opted_out": 1, "no_phone": 1, "bad_phone": 1}
    assert preview.excluded_count == 4
    assert (preview.segments_per_text, preview.total_segments) == (1, 2)
    assert preview.sample == "Parks Department: Bring gloves!"

    long_text = "Bring gloves and water. " * 8  # 190 GSM-7 characters: two segments
    preview = broadcast.preview_broadcast(audience, long_text, sender="Parks")
    assert (preview.segments_per_text, preview.total_segments) == (2, 4)

    with_waitlist = broadcast.shift_audience(shift, include_waitlist=True)
    assert "Wanda" in {p.name for p in with_waitlist}


@pytest.mark.parametrize("body", ["", "   ", "x" * (broadcast.MAX_LENGTH + 1)])
def test_empty_or_too_long_texts_are_refused(db, shift, roster, body):
    from volunteer_app.core.errors import DomainError

    with pytest.raises(DomainError):
        broadcast.preview_broadcast(broadcast.shift_audience(shift), body)


def test_sending_queues_once_per_person_and_broadcast(db, org, shift, roster):
    audience = broadcast.shift_audience(shift)
    broadcast_id = broadcast.new_broadcast_id()
    now = utcnow()

    def send() -> int:
        return broadcast.send_broadcast(
            audience,
            "Bring gloves!",
            broadcast_id=broadcast_id,
            now=now,
            organization_id=org.id,
            shift_id=shift.id,
        )

    assert send() == 2
    assert send() == 0
    db.session.commit()
    sent = messages(kind="broadcast")
    assert {m.user_id for m in sent} == {roster["ana"].id, roster["ben"].id}
    assert all(m.status == MessageStatus.QUEUED and m.shift_id == shift.id for m in sent)
    assert {m.organization_id for m in sent} == {org.id}
    assert {m.idempotency_key for m in sent} == {
        f"broadcast:{broadcast_id}:user:{roster['ana'].id}",
        f"broadcast:{broadcast_id}:user:{roster['ben'].id}",
    }


def test_initiative_audience_is_everyone_holding_a_spot_on_its_upcoming_shifts(db, org, texter):
    initiative = make_initiative(org)
    now = utcnow()
    upcoming = make_shift(initiative, starts_at=now + dt.timedelta(days=2))
    later = make_shift(initiative, starts_at=now + dt.timedelta(days=9))
    past = make_shift(initiative, starts_at=now - dt.timedelta(days=2))
    elsewhere = make_shift(make_initiative(org), starts_at=now + dt.timedelta(days=2))
    both, once, waiting, former, other = (texter() for _ in range(5))
    make_signup(both, upcoming)
    make_signup(both, later)
    make_signup(once, later)
    make_signup(waiting, upcoming, "waitlisted")
    make_signup(former, past)
    make_signup(other, elsewhere)
    db.session.commit()
    audience = broadcast.initiative_audience(initiative, now=now)
    assert [p.id for p in audience] == sorted([both.id, once.id])


# --- Pages ---------------------------------------------------------------------------------


def test_coordinator_previews_then_sends_to_the_roster(db, client, auth, org, shift, roster):
    coordinator = make_coordinator(org)
    db.session.commit()
    auth.login(coordinator.email)
    url = f"/sms/broadcast/shift/{shift.id}"

    page = client.get(url)
    assert page.status_code == 200 and "Tree planting" in page.get_data(as_text=True)

    preview = auth.post(url, {"body": "Bring gloves!", "preview": "Preview"})
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "2 people will receive this text." in text
    assert "4 people will not:" in text and "opted out (STOP): 1" in text
    assert "1 segment" in text and "2 segments in all." in text
    assert messages(kind="broadcast") == []  # a preview sends nothing

    broadcast_id = hidden(text, "broadcast_id")
    form = {
        "body": "Bring gloves!",
        "broadcast_id": broadcast_id,
        "previewed": hidden(text, "previewed"),
        "send": "Send",
    }
    sent = auth.post(url, form)
    assert sent.status_code == 302
    queued = messages(kind="broadcast")
    assert {m.user_id for m in queued} == {roster["ana"].id, roster["ben"].id}
    assert queued[0].body == "Parks Department: Bring gloves!"

    auth.post(url, form)  # the same preview sent again (a double click): nothing more
    assert len(messages(kind="broadcast")) == 2


def test_the_waitlist_is_included_only_when_asked(db, client, auth, org, shift, roster):
    coordinator = make_coordinator(org)
    db.session.commit()
    auth.login(coordinator.email)
    url = f"/sms/broadcast/shift/{shift.id}"
    page = auth.post(url, {"body": "Hi", "include_waitlist": "y", "preview": "Preview"})
    assert "3 people will receive this text." in page.get_data(as_text=True)


def test_send_needs_the_preview_of_the_same_text(db, client, auth, org, shift, roster):
    coordinator = make_coordinator(org)
    db.session.commit()
    auth.login(coordinator.email)
    url = f"/sms/broadcast/shift/{shift.id}"

    skipped = auth.post(url, {"body": "Bring gloves!", "send": "Send"})
    assert skipped.status_code == 200 and "will receive" in skipped.get_data(as_text=True)

    preview = auth.post(url, {"body": "Bring gloves!", "preview": "Preview"}).get_data(as_text=True)
    edited = auth.post(
        url,
        {
            "body": "Bring gloves and a hat!",
            "broadcast_id": hidden(preview, "broadcast_id"),
            "previewed": hidden(preview, "previewed"),
            "send": "Send",
        },
    )
    assert edited.status_code == 200 and "changed since the preview" in edited.get_data(
        as_text=True
    )
    assert messages(kind="broadcast") == []


def test_too_long_text_is_refused_with_a_message(db, client, auth, org, shift, roster):
    coordinator = make_coordinator(org)
    db.session.commit()
    auth.login(coordinator.email)
    page = auth.post(
        f"/sms/broadcast/shift/{shift.id}",
        {"body": "x" * (broadcast.MAX_LENGTH + 1), "preview": "Preview"},
    )
    assert page.status_code == 200 and "will receive" not in page.get_data(as_text=True)
    assert "320" in page.get_data(as_text=True)


def test_initiative_broadcast_page(db, client, auth, org, shift, roster):
    coordinator = make_coordinator(org)
    db.session.commit()
    auth.login(coordinator.email)
    url = f"/sms/broadcast/initiative/{shift.initiative_id}"
    page = auth.post(url, {"body": "Thanks, all!", "preview": "Preview"})
    assert "2 people will receive this text." in page.get_data(as_text=True)


@pytest.mark.parametrize("who", ["other_coordinator", "volunteer", "admin", "anonymous"])
def test_only_own_organizations_shifts_and_initiatives(db, client, auth, shift, roster, who):
    expected = {"other_coordinator": 404, "volunteer": 403, "admin": 200, "anonymous": 302}[who]
    if who == "other_coordinator":
        user = make_coordinator(make_organization())
    elif who == "volunteer":
        user = make_user()
    elif who == "admin":
        user = make_user(role=Role.ADMIN)
    db.session.commit()
    if who != "anonymous":
        auth.login(user.email)
    for url in (
        f"/sms/broadcast/shift/{shift.id}",
        f"/sms/broadcast/initiative/{shift.initiative_id}",
    ):
        assert client.get(url).status_code == expected, url
    if who == "other_coordinator":
        response = client.post(
            f"/sms/broadcast/shift/{shift.id}", data={"body": "Hi", "send": "Send"}
        )
        assert response.status_code in (400, 404)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(sa.text("messages"))) == 0
