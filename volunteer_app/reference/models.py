"""Reference tables: causes, neighborhoods, skills, languages, and program-wide settings."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from volunteer_app.extensions import Model


class Cause(Model):
    __tablename__ = "causes"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(80))

    def __repr__(self) -> str:
        return f"<Cause {self.slug}>"


class Neighborhood(Model):
    __tablename__ = "neighborhoods"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(60), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    # Space-separated ZIP codes that fall (mostly) inside the neighborhood.
    zip_codes: Mapped[str] = mapped_column(sa.String(200), default="")
    centroid_lat: Mapped[float | None]
    centroid_lon: Mapped[float | None]
    # Priority neighborhoods (an equity choice made by admins) can be boosted in matching.
    is_priority: Mapped[bool] = mapped_column(default=False)
    # Optional outline for the equity map: SVG path data in the app's own map projection.
    svg_path: Mapped[str | None] = mapped_column(sa.Text)

    def __repr__(self) -> str:
        return f"<Neighborhood {self.slug}>"


class Skill(Model):
    __tablename__ = "skills"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(80))


class Language(Model):
    """A spoken language, keyed by its ISO 639-1 code ("en", "es")."""

    __tablename__ = "languages"

    code: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60))


class ProgramSetting(Model):
    """One program-wide setting (quiet hours, invitation limits, equity boost), as JSON."""

    __tablename__ = "program_settings"

    key: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(sa.JSON)
