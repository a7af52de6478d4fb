"""`flask users create-admin` and `create-coordinator`, through the real CLI runner."""

from __future__ import annotations

import sqlalchemy as sa

from tests.factories import PASSWORD, make_organization, make_user
from volunteer_app.accounts.models import Role, User
from volunteer_app.accounts.passwords import verify_password


def user_by_email(db, email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.email == email))


def test_create_admin_prompts_for_the_password(db, runner):
    result = runner.invoke(
        args=["users", "create-admin", "--email", "Boss@City.example", "--name", "Boss"],
        input="a long admin password\na long admin password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created admin boss@city.example." in result.output
    admin = user_by_email(db, "boss@city.example")
    assert admin.role == Role.ADMIN and admin.name == "Boss"
    assert verify_password(admin.password_hash, "a long admin password")


def test_create_admin_asks_twice_and_refuses_a_mismatch(db, runner):
    result = runner.invoke(
        args=["users", "create-admin", "--email", "boss@city.example"],
        input="a long admin password\nanother password!!\n",
    )
    assert result.exit_code != 0
    assert "do not match" in result.output.lower() or "don't match" in result.output.lower()
    assert user_by_email(db, "boss@city.example") is None


def test_create_admin_promotes_an_existing_account(db, runner):
    make_user("ana@example.org")
    db.session.commit()  # the command runs in its own session
    result = runner.invoke(
        args=["users", "create-admin", "--email", "ana@example.org", "--password", "x" * 12]
    )
    assert result.exit_code == 0, result.output
    assert "now an admin" in result.output
    ana = user_by_email(db, "ana@example.org")
    assert ana.role == Role.ADMIN
    assert verify_password(ana.password_hash, PASSWORD)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_create_admin_refuses_a_short_password_and_a_bad_email(db, runner):
    short = runner.invoke(
        args=["users", "create-admin", "--email", "boss@city.example", "--password", "short"]
    )
    bad = runner.invoke(
        args=["users", "create-admin", "--email", "not an email", "--password", "x" * 12]
    )
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    assert bad.exit_code == 1 and "valid email" in bad.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_create_coordinator_for_an_organization(db, runner):
    org = make_organization("Parks Department")
    db.session.commit()
    result = runner.invoke(
        args=[
            "users",
            "create-coordinator",
            "--email",
            "coord@city.example",
            "--name",
            "Cora",
            "--organization",
            org.slug,
            "--password",
            "a long coordinator password",
        ]
    )
    assert result.exit_code == 0, result.output
    coordinator = user_by_email(db, "coord@city.example")
    assert coordinator.role == Role.COORDINATOR
    assert coordinator.organization_ids == {org.id}


def test_create_coordinator_needs_a_known_organization(db, runner):
    result = runner.invoke(
        args=[
            "users",
            "create-coordinator",
            "--email",
            "coord@city.example",
            "--name",
            "Cora",
            "--organization",
            "no-such-org",
            "--password",
            "a long coordinator password",
        ]
    )
    assert result.exit_code == 1
    assert "There is no organization no-such-org." in result.output
    assert user_by_email(db, "coord@city.example") is None
