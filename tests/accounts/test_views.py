"""Register, log in and out, password reset and the profile, through real HTTP with real CSRF
tokens, on every backend."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import sqlalchemy as sa

from tests.conftest import csrf_token
from tests.factories import PASSWORD, make_user
from volunteer_app.accounts import password_reset, services
from volunteer_app.accounts.models import User, availability_bit
from volunteer_app.accounts.passwords import verify_password
from volunteer_app.core.db import utcnow

NEXT_YEAR = f"{utcnow().year + 1}-06-01"


def text(response) -> str:
    """The page as a person reads it: entities decoded."""
    return html.unescape(response.get_data(as_text=True))


def user_count(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def user_by_email(db, email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.email == email))


def logged_in(client) -> bool:
    return client.get("/profile").status_code == 200


REGISTRATION = {
    "name": "Ana Lopez",
    "email": "Ana@Example.org",
    "password": "a long enough password",
    "password_confirm": "a long enough password",
    "phone": "(202) 555-0143",
    "sms_consent": "y",
}


# --- Register ----------------------------------------------------------------------------


def test_register_page_shows_the_versioned_consent_text(client, app):
    page = client.get("/register")
    body = text(page)
    assert page.status_code == 200
    assert services.sms_consent_text() in body
    assert 'name="sms_consent"' in body and 'type="checkbox"' in body
    # The box is never ticked for the person.
    assert not re.search(r'<input[^>]*checked[^>]*name="sms_consent"', body)
    assert '<label for="phone">' in body


def test_register_creates_the_account_logs_in_and_records_consent(app, db, client, auth):
    before = utcnow()
    response = auth.post("/register", REGISTRATION)

    assert response.status_code == 302
    assert response.headers["Location"] == "/welcome/fit"  # Find your fit comes first
    user = user_by_email(db, "ana@example.org")
    assert user is not None
    assert user.phone == "+12025550143"
    assert user.sms_consent_version == app.config["SMS_CONSENT_VERSION"]
    assert user.sms_consent_source == "web"
    assert before <= user.sms_consent_at <= utcnow()
    assert verify_password(user.password_hash, "a long enough password")
    assert logged_in(client)


def test_register_takes_the_visitors_language(db, client, auth):
    auth.post("/register", REGISTRATION, headers={"Accept-Language": "es"})
    assert user_by_email(db, "ana@example.org").preferred_language == "es"


def test_register_with_a_phone_but_no_consent(db, auth):
    response = auth.post("/register", {**REGISTRATION, "sms_consent": ""})
    assert response.status_code == 302
    user = user_by_email(db, "ana@example.org")
    assert user.phone == "+12025550143" and user.sms_consent_at is None


def test_register_returns_to_a_safe_next_page(db, auth):
    response = auth.post("/register?next=/shifts/7", REGISTRATION, page="/register")
    # Find your fit first, which then goes on to the page the person came from.
    assert response.headers["Location"] == "/welcome/fit?next=/shifts/7"


def test_register_ignores_an_unsafe_next_page(db, auth):
    response = auth.post("/register?next=//evil.example/x", REGISTRATION, page="/register")
    assert response.headers["Location"] == "/welcome/fit"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"email": ""}, "Enter your email address."),
        ({"phone": "12345"}, "Enter a valid mobile number"),
        ({"password": "short", "password_confirm": "short"}, "at least 10 characters"),
        ({"password_confirm": "a different password"}, "The two passwords are not the same."),
        ({"name": ""}, "Enter your name."),
        ({"phone": "", "sms_consent": "y"}, "Enter your mobile number to get texts"),
        ({"name": "N" * 10_000}, "at most 120 characters"),
        ({"email": "e" * 10_000 + "@example.org"}, "at most 254 characters"),
        ({"phone": "2" * 10_000}, "at most 40 characters"),
        (
            {"password": "p" * 10_000, "password_confirm": "p" * 10_000},
            "at most 256 characters",
        ),
        ({"name": "Ana\tLopez"}, "Remove the special characters"),
    ],
)
def test_register_refuses_bad_input_with_a_message_and_writes_nothing(
    db, client, auth, changes, message
):
    response = auth.post("/register", {**REGISTRATION, **changes})
    assert response.status_code == 200
    assert message in text(response)
    assert 'class="error-summary"' in text(response)
    assert user_count(db) == 0
    assert not logged_in(client)


def test_register_refuses_a_taken_email(db, auth):
    make_user("ana@example.org")
    db.session.commit()
    response = auth.post("/register", REGISTRATION)
    assert response.status_code == 200
    assert "An account with this email address already exists" in text(response)
    assert user_count(db) == 1


def test_register_refuses_a_taken_phone(db, auth):
    make_user("someone@example.org", phone="+12025550143")
    db.session.commit()
    response = auth.post("/register", REGISTRATION)
    assert response.status_code == 200
    assert "This mobile number already belongs to another account" in text(response)
    assert user_count(db) == 1


def test_register_race_lost_at_commit_gives_a_message(db, auth, monkeypatch):
    """Another request inserts the same email between our check and our insert: the unique
    constraint refuses it, and the person gets the same message instead of a 500."""
    make_user("ana@example.org")
    db.session.commit()
    real_check = services._check_unique
    calls = []

    def check_too_early(*args, **kwargs):
        calls.append(args)
        if len(calls) > 1:  # explain_conflict, after the rollback, sees the real table
            real_check(*args, **kwargs)

    monkeypatch.setattr(services, "_check_unique", check_too_early)
    response = auth.post("/register", REGISTRATION)

    assert response.status_code == 200
    assert "An account with this email address already exists" in text(response)
    assert len(calls) == 2
    assert user_count(db) == 1


def test_register_without_csrf_token_is_refused(db, client):
    response = client.post("/register", data=REGISTRATION)
    assert response.status_code == 400
    assert user_count(db) == 0


# --- Log in and out ----------------------------------------------------------------------


@pytest.fixture
def ana(db):
    user = make_user("ana@example.org", name="Ana")
    db.session.commit()
    return user


def test_login_with_the_right_password(db, client, auth, ana):
    before = utcnow()
    response = auth.login(" ANA@example.org ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert logged_in(client)
    db.session.refresh(ana)
    assert ana.last_login_at >= before


@pytest.mark.parametrize(
    ("email", "password"),
    [("ana@example.org", "wrong password"), ("nobody@example.org", PASSWORD)],
)
def test_login_with_wrong_credentials_says_one_thing(client, auth, ana, email, password):
    response = auth.login(email, password)
    assert response.status_code == 200
    assert "That email and password do not match an account." in text(response)
    assert 'name="email"' in text(response) and 'name="password"' in text(response)
    assert not logged_in(client)


@pytest.mark.parametrize("url", ["/login", "/password/forgot"])
def test_control_characters_in_an_email_get_a_message_not_a_500(client, auth, ana, url, outbox):
    response = auth.post(url, {"email": "ana@example.org\x00", "password": PASSWORD})
    assert response.status_code == 400
    assert "control characters" in text(response)
    response = auth.post(url, {"email": "ana@exam\nple.org", "password": PASSWORD})
    assert response.status_code == 200
    assert "Remove the special characters" in text(response)
    assert outbox == []


def test_an_inactive_account_cannot_log_in(db, client, auth):
    make_user("gone@example.org", active=False)
    db.session.commit()
    response = auth.login("gone@example.org")
    assert response.status_code == 200
    assert "This account is switched off." in text(response)
    assert not logged_in(client)


def test_login_returns_to_the_shift_page_the_resident_came_from(client, auth, ana):
    page = client.get("/login?next=/shifts/42")
    assert 'action="/login?next=/shifts/42"' in text(page).replace("%2F", "/")
    response = auth.post(
        "/login?next=/shifts/42", {"email": ana.email, "password": PASSWORD}, page="/login"
    )
    assert response.headers["Location"] == "/shifts/42"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/shifts/1",
        "http://evil.example/",
        "https://evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "evil.example/path",
        "/ok\r\nSet-Cookie: x=1",
        "/" + "a" * 3000,
    ],
)
def test_login_never_redirects_off_site(client, auth, ana, target):
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": ana.email, "password": PASSWORD, "csrf_token": csrf_token(client, "/login")},
    )
    if "\r" in target:  # a line break in a query string is refused before any view
        assert response.status_code == 400 and "Location" not in response.headers
        return
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_remember_me_sets_a_long_lived_cookie(client, auth, ana):
    auth.post("/login", {"email": ana.email, "password": PASSWORD, "remember": "y"})
    assert client.get_cookie("remember_token") is not None


def test_without_remember_me_no_cookie_outlives_the_session(client, auth, ana):
    auth.login(ana.email)
    assert logged_in(client)
    assert client.get_cookie("remember_token") is None


def test_an_authenticated_visit_to_login_goes_home(client, auth, ana):
    auth.login(ana.email)
    assert client.get("/login").headers["Location"] == "/"
    assert client.get("/register?next=/shifts/3").headers["Location"] == "/shifts/3"


def test_logout_needs_post(client, auth, ana):
    auth.login(ana.email)
    assert client.get("/logout").status_code == 405
    assert logged_in(client)


def test_logout_needs_the_csrf_token(client, auth, ana):
    auth.login(ana.email)
    assert client.post("/logout").status_code == 400
    assert logged_in(client)


def test_logout_logs_out(client, auth, ana):
    auth.login(ana.email)
    response = auth.logout()
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert not logged_in(client)


def test_login_without_csrf_token_is_refused(client, ana):
    response = client.post("/login", data={"email": ana.email, "password": PASSWORD})
    assert response.status_code == 400
    assert not logged_in(client)


# --- Password reset ----------------------------------------------------------------------


def test_forgot_password_answers_the_same_whether_or_not_the_account_exists(
    client, auth, ana, outbox
):
    answers = []
    for email in ("ana@example.org", "nobody@example.org"):
        response = auth.post("/password/forgot", {"email": email}, follow_redirects=True)
        body = text(response)
        answers.append(body[body.index('class="flashes"') :].split("</div>")[0])
    assert answers[0] == answers[1]
    assert "If an account uses that email address" in answers[0]
    assert [mail.to for mail in outbox] == ["ana@example.org"]


def reset_link(outbox) -> str:
    (mail,) = outbox
    return next(line for line in mail.body.splitlines() if "/password/reset/" in line)


def test_reset_link_from_the_mail_sets_a_new_password_once(app, db, client, auth, ana, outbox):
    auth.post("/password/forgot", {"email": "ana@example.org"})
    link = reset_link(outbox)
    assert link.startswith(app.config["PUBLIC_BASE_URL"] + "/password/reset/")
    path = link[len(app.config["PUBLIC_BASE_URL"]) :]

    assert client.get(path).status_code == 200
    new = {"password": "my new long password", "password_confirm": "my new long password"}
    response = auth.post(path, new)
    assert response.status_code == 302
    assert logged_in(client)
    db.session.refresh(ana)
    assert verify_password(ana.password_hash, "my new long password")

    auth.logout()
    again = client.get(path)
    assert again.status_code == 302
    assert again.headers["Location"] == "/password/forgot"
    assert "expired or was already used" in text(client.get("/password/forgot"))
    # Posting to the used link changes nothing either.
    token = csrf_token(client, "/password/forgot")
    client.post(
        path, data={"password": "x" * 12, "password_confirm": "x" * 12, "csrf_token": token}
    )
    db.session.refresh(ana)
    assert verify_password(ana.password_hash, "my new long password")


def test_an_expired_reset_link_is_refused(app, db, client, ana):
    max_age = app.config["PASSWORD_RESET_MAX_AGE"]
    issued_at = utcnow() - dt.timedelta(seconds=max_age + 60)
    token = password_reset.make_password_reset_token(ana, now=issued_at)

    response = client.get(f"/password/reset/{token}", follow_redirects=True)

    assert "expired or was already used" in text(response)
    assert response.request.path == "/password/forgot"


def test_an_expired_link_cannot_set_a_password(app, db, client, auth, ana, monkeypatch):
    token = password_reset.make_password_reset_token(ana, now=utcnow())
    page = f"/password/reset/{token}"
    form_token = csrf_token(client, page)
    monkeypatch.setitem(app.config, "PASSWORD_RESET_MAX_AGE", -1)
    response = client.post(
        page,
        data={"password": "x" * 12, "password_confirm": "x" * 12, "csrf_token": form_token},
    )
    assert response.headers["Location"] == "/password/forgot"
    db.session.refresh(ana)
    assert verify_password(ana.password_hash, PASSWORD)


def test_reset_form_checks_the_new_password(db, client, auth, ana):
    token = password_reset.make_password_reset_token(ana, now=utcnow())
    page = f"/password/reset/{token}"
    response = auth.post(page, {"password": "short", "password_confirm": "short"})
    assert response.status_code == 200
    assert "at least 10 characters" in text(response)
    db.session.refresh(ana)
    assert verify_password(ana.password_hash, PASSWORD)


# --- Profile -----------------------------------------------------------------------------


def test_profile_needs_login(client):
    response = client.get("/profile")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fprofile"


def test_saving_a_profile_needs_login(db, client, ana):
    token = csrf_token(client, "/login")
    response = client.post("/profile", data={**PROFILE, "name": "Hacker", "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    db.session.refresh(ana)
    assert ana.name == "Ana"


def test_profile_shows_only_the_current_person(db, client, auth, reference):
    ana = make_user("ana@example.org", name="Ana Lopez", zip_code="20001")
    other = make_user("bo@example.org", name="Bo Private", zip_code="99501")
    db.session.commit()
    auth.login(ana.email)

    body = text(client.get("/profile"))

    assert "Ana Lopez" in body and "20001" in body
    assert "Bo Private" not in body and "99501" not in body and "bo@example.org" not in body
    assert client.get(f"/profile/{other.id}").status_code == 404


def test_profile_availability_grid_is_labelled_for_screen_readers(client, auth, ana, reference):
    auth.login(ana.email)
    body = text(client.get("/profile"))

    assert '<fieldset id="availability"' in body
    assert "<legend>When are you usually free?</legend>" in body
    assert '<th scope="col">Afternoon</th>' in body
    labels = re.findall(
        r'<label class="slot" for="(availability-\d-\d)">\s*<input type="checkbox" '
        r'name="availability" id="\1" value="\d-\d" ?>\s*'
        r'<span class="visually-hidden">([^<]+)</span>',
        body,
    )
    assert len(labels) == 21
    assert labels[0] == ("availability-0-0", "Monday morning")
    assert labels[-1] == ("availability-6-2", "Sunday evening")
    assert "accounts.css" in body


PROFILE = {
    "name": "Ana Lopez",
    "phone": "",
    "preferred_language": "en",
    "neighborhood_id": "",
    "zip_code": "",
    "travel_miles": "",
    "effort_preference": "",
    "birth_date": "",
}


def test_profile_update_saves_causes_skills_languages_and_availability(
    db, client, auth, ana, reference
):
    auth.login(ana.email)
    form = {
        **PROFILE,
        "phone": "202-555-0143",
        "sms_consent": "y",
        "preferred_language": "es",
        "neighborhood_id": str(reference.riverside.id),
        "zip_code": "20001",
        "causes": [str(reference.environment.id), str(reference.education.id)],
        "skills": [str(reference.carpentry.id)],
        "languages": ["es", "vi"],
        "availability": ["0-0", "2-1", "5-2"],
        "travel_miles": "12",
        "effort_preference": "heavy",
        "birth_date": "1990-04-30",
    }

    response = auth.post("/profile", form)

    assert response.status_code == 302 and response.headers["Location"] == "/profile"
    db.session.expire_all()
    user = db.session.get(User, ana.id)
    assert {c.slug for c in user.causes} == {"environment", "education"}
    assert [s.slug for s in user.skills] == ["carpentry"]
    assert {language.code for language in user.languages} == {"es", "vi"}
    assert user.availability_mask == (
        availability_bit(0, 0) | availability_bit(2, 1) | availability_bit(5, 2)
    )
    assert user.neighborhood_id == reference.riverside.id
    assert (user.zip_code, user.travel_miles, user.effort_preference) == ("20001", 12.0, "heavy")
    assert user.birth_date == dt.date(1990, 4, 30)
    assert user.phone == "+12025550143" and user.sms_consent_at is not None
    assert user.preferred_language == "es"

    # The saved profile comes back ticked, and the phone as a person would type it.
    body = text(client.get("/profile?lang=en"))
    assert re.search(r'id="availability-2-1" value="2-1" checked', body)
    assert not re.search(r'id="availability-2-2" value="2-2" checked', body)
    assert 'value="(202) 555-0143"' in body
    assert "We text (202) 555-0143 about your shifts." in body


def test_unticking_the_sms_box_withdraws_consent(db, client, auth, reference):
    user = make_user("ana@example.org", phone="+12025550143", consent_at=utcnow())
    db.session.commit()
    auth.login(user.email)
    auth.post("/profile", {**PROFILE, "phone": "(202) 555-0143"})
    db.session.refresh(user)
    assert user.phone == "+12025550143"
    assert user.sms_consent_at is None and user.sms_consent_version is None


def test_profile_says_how_to_opt_back_in_after_stop(app, db, client, auth, monkeypatch):
    user = make_user("ana@example.org", phone="+12025550143", consent_at=utcnow())
    user.sms_opted_out_at = utcnow()
    db.session.commit()
    monkeypatch.setitem(app.config, "TWILIO_FROM_NUMBER", "+12025550999")
    auth.login(user.email)
    body = text(client.get("/profile"))
    assert "You replied STOP on" in body
    assert "text START to (202) 555-0999" in body


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "N" * 10_000}, "at most 120 characters"),
        ({"zip_code": "9" * 10_000}, "at most 10 characters"),
        ({"zip_code": "ABCDE"}, "Enter a 5-digit ZIP code."),
        ({"travel_miles": "9" * 10_000}, "Not a valid integer value."),
        ({"travel_miles": "501"}, "Enter a distance from 0 to 500 miles."),
        ({"birth_date": "x" * 10_000}, "Not a valid date value."),
        ({"birth_date": NEXT_YEAR}, "A birth date cannot be in the future."),
        ({"birth_date": "1901-01-01"}, "Please check the year of your birth date."),
        ({"birth_date": "1800-01-01"}, "Please give a date from 1900"),
        ({"birth_date": "9999-12-31"}, "Please give a date from 1900"),
        ({"phone": "not a phone"}, "Enter a valid mobile number"),
        ({"neighborhood_id": "9" * 10_000}, "Choose from the options shown."),
        ({"causes": ["999999"]}, "Choose from the options shown."),
        ({"causes": ["abc"]}, "Choose from the options shown."),
        ({"availability": ["7-0"]}, "Choose from the options shown."),
        ({"effort_preference": "extreme"}, "Choose from the options shown."),
        ({"preferred_language": "xx"}, "Choose from the options shown."),
        ({"name": "A\nna"}, "Remove the special characters"),
    ],
)
def test_profile_refuses_bad_input_with_a_message(
    db, client, auth, ana, reference, changes, message
):
    auth.login(ana.email)
    response = auth.post("/profile", {**PROFILE, **changes})
    assert response.status_code == 200
    assert message in text(response)
    db.session.refresh(ana)
    assert ana.name == "Ana"


def test_profile_refuses_another_accounts_phone(db, client, auth, ana):
    make_user("bo@example.org", phone="+12025550199")
    db.session.commit()
    auth.login(ana.email)
    response = auth.post("/profile", {**PROFILE, "phone": "202-555-0199"})
    assert response.status_code == 200
    assert "This mobile number already belongs to another account" in text(response)
    db.session.refresh(ana)
    assert ana.phone is None


def test_profile_page_runs_a_fixed_number_of_queries(
    db, client, auth, ana, reference, count_queries
):
    auth.login(ana.email)
    # The login's commit (once the request answered) expired `ana`: keep its id before
    # `ana` leaves the session.
    ana_id = ana.id
    # Requests share the test's session; start each from an empty one, as a server would.
    db.session.expunge_all()
    with count_queries() as few:
        assert client.get("/profile").status_code == 200
    user = db.session.get(User, ana_id)
    user.causes = [reference.environment, reference.education]
    user.skills = [reference.carpentry, reference.tutoring]
    user.languages = [reference.spanish, reference.vietnamese]
    db.session.commit()
    db.session.expunge_all()
    with count_queries() as many:
        assert client.get("/profile").status_code == 200
    assert len(few) == len(many) <= 12


def test_a_password_reset_logs_out_every_other_browser(app, db, client, auth, ana, outbox):
    """A stolen laptop stays logged in only until the password is reset elsewhere: the reset
    ends every login of the person, and both cookies carry only a login's token."""
    laptop = app.test_client()
    token = csrf_token(laptop, "/login")
    laptop.post(
        "/login",
        data={
            "email": "ana@example.org",
            "password": PASSWORD,
            "remember": "y",
            "csrf_token": token,
        },
    )
    assert logged_in(laptop)
    assert laptop.get_cookie("remember_token") is not None

    auth.post("/password/forgot", {"email": "ana@example.org"})
    path = reset_link(outbox)[len(app.config["PUBLIC_BASE_URL"]) :]
    new = {"password": "my new long password", "password_confirm": "my new long password"}
    auth.post(path, new, page=path)

    assert logged_in(client)  # the browser that reset it stays in
    assert not logged_in(laptop)
    laptop.delete_cookie("session")  # only the remember-me cookie left: still refused
    assert not logged_in(laptop)
