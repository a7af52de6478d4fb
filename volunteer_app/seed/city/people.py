"""What the demo city already has (neighborhoods, causes, organizations and their
coordinators, the demo password), and the city's volunteers with their causes, skills and
languages."""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from typing import Any

import sqlalchemy as sa

from volunteer_app.accounts.models import DAY_PARTS, Membership, Role, User, availability_bit
from volunteer_app.core.time import local
from volunteer_app.extensions import db
from volunteer_app.reference.models import Cause, Language, Neighborhood, Skill
from volunteer_app.seed import reference as ref
from volunteer_app.seed.city.plan import CityPlan, Person

EMAIL_DOMAIN = "residents.example"
# 202-200-0000 onwards: valid US numbers, clear of the demo's 202-555-01xx.
PHONE_BASE = 2_000_000
HOMES = ["en"] * 60 + ["es"] * 25 + ["zh"] * 5 + ["vi"] * 5 + ["ht"] * 5
# A text-only volunteer (signed up by SMS) has none of these.
NO_PROFILE = {
    "neighborhood_id": None,
    "zip_code": None,
    "availability_mask": 0,
    "travel_miles": None,
    "effort_preference": None,
    "birth_date": None,
    "onboarded_at": None,
}


def read_demo_city(plan: CityPlan) -> None:
    session = db.session
    plan.neighborhoods = list(
        session.execute(
            sa.select(
                Neighborhood.id,
                Neighborhood.zip_codes,
                Neighborhood.name,
                Neighborhood.centroid_lat,
                Neighborhood.centroid_lon,
                Neighborhood.is_priority,
            ).order_by(Neighborhood.id)
        ).all()
    )
    plan.cause_ids = dict(session.execute(sa.select(Cause.slug, Cause.id)).all())
    plan.skill_ids = dict(session.execute(sa.select(Skill.slug, Skill.id)).all())
    plan.language_codes = sorted(session.scalars(sa.select(Language.code)))
    plan.coordinator_of = dict(
        session.execute(
            sa.select(Membership.organization_id, sa.func.min(Membership.user_id)).group_by(
                Membership.organization_id
            )
        ).all()
    )
    plan.organization_ids = sorted(plan.coordinator_of)
    # Everyone gets the demo password (hashed once by the demo: Argon2 is slow on purpose).
    plan.password_hash = session.scalar(
        sa.select(User.password_hash).where(User.email == ref.ADMIN_EMAIL)
    )


def plan_volunteers(plan: CityPlan) -> None:
    today = local(plan.now, ref.DEMO_TIMEZONE).date()
    first_id = plan.next_id(User)
    hood_weights = [3 if n.is_priority else 1 for n in plan.neighborhoods]
    for n in range(plan.size["volunteers"]):
        home = plan.rng.choice(HOMES)
        person = _volunteer(
            plan, n, user_id=first_id + n, home=home, today=today, hood_weights=hood_weights
        )
        plan.people.append(person)
        if person.has_email:
            _interests(plan, person.id, home)


def _volunteer(
    plan: CityPlan, n: int, *, user_id: int, home: str, today: dt.date, hood_weights: list[int]
) -> Person:
    """The n-th volunteer's row (in plan.users) and what the later phases need of them."""
    rng, now = plan.rng, plan.now
    firsts, lasts = ref.NAME_POOLS[home]
    first, last = rng.choice(firsts), rng.choice(lasts)
    created_at = now - dt.timedelta(days=rng.uniform(30, 1100), minutes=rng.randint(0, 900))
    text_only = rng.random() < 0.02
    has_phone = text_only or rng.random() < 0.6
    consented = has_phone and (text_only or rng.random() < 0.9)
    consent_at = created_at + dt.timedelta(minutes=rng.randint(1, 20))
    opted_out = consented and rng.random() < 0.03
    hood = rng.choices(plan.neighborhoods, hood_weights)[0]
    mask = _availability(rng)
    birth_date = None
    if rng.random() < 0.9:
        birth_date = today - dt.timedelta(days=rng.randint(16 * 366, 80 * 365))
    row: dict[str, Any] = {
        "id": user_id,
        "email": None if text_only else _email(first, last, user_id),
        "password_hash": None if text_only else plan.password_hash,
        "name": f"{first} {last}",
        "role": Role.VOLUNTEER,
        "active": True,
        "created_at": created_at,
        "last_login_at": None,
        "phone": f"+1202{PHONE_BASE + n:07d}" if has_phone else None,
        "sms_consent_at": consent_at if consented else None,
        "sms_consent_version": plan.consent_version if consented else None,
        "sms_consent_source": (
            ("sms" if text_only else rng.choice(("web", "web", "paper"))) if consented else None
        ),
        "sms_opted_out_at": (consent_at + (now - consent_at) * rng.random() if opted_out else None),
        "preferred_language": "es" if home == "es" else "en",
    }
    if text_only:
        row.update(NO_PROFILE)
    else:
        row.update(
            {
                "neighborhood_id": hood.id,
                "zip_code": hood.zip_codes.split()[0],
                "availability_mask": mask,
                "travel_miles": float(rng.choice((1, 2, 3, 5, 5, 10))),
                "effort_preference": rng.choice((None, "light", "moderate", "heavy")),
                "birth_date": birth_date,
                "onboarded_at": created_at + dt.timedelta(minutes=rng.randint(3, 40)),
            }
        )
    plan.users.append(row)
    return Person(
        id=user_id,
        created_at=created_at,
        birth_date=row["birth_date"],
        can_text=consented and not opted_out,
        has_email=not text_only,
    )


def _availability(rng: random.Random) -> int:
    mask = 0
    for _ in range(rng.randint(1, 5)):
        mask |= availability_bit(rng.randrange(7), rng.choice(range(len(DAY_PARTS))))
    return mask


def _interests(plan: CityPlan, user_id: int, home: str) -> None:
    """Causes, skills and the languages spoken (home's, and now and then English or Spanish)."""
    rng = plan.rng
    for cause_id in rng.sample(list(plan.cause_ids.values()), rng.randint(1, 3)):
        plan.user_causes.append({"user_id": user_id, "cause_id": cause_id})
    for skill_id in rng.sample(list(plan.skill_ids.values()), rng.randint(0, 3)):
        plan.user_skills.append({"user_id": user_id, "skill_id": skill_id})
    speaks = {home}
    if home != "en" and rng.random() < 0.7 or home == "en" and rng.random() < 0.15:
        speaks.add("en" if home != "en" else "es")
    for code in sorted(speaks & set(plan.language_codes)):
        plan.user_languages.append({"user_id": user_id, "language_code": code})


def _email(first: str, last: str, user_id: int) -> str:
    ascii_name = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore")
    return f"{ascii_name.decode().lower().replace(' ', '')}.{user_id}@{EMAIL_DOMAIN}"
