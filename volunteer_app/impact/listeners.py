"""What impact says about changes announced below it (core/signals): a goal with outcome
records is never deleted, since that would delete what volunteers achieved."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from volunteer_app.core import signals
from volunteer_app.core.errors import Conflict
from volunteer_app.extensions import db
from volunteer_app.impact.models import OutcomeRecord
from volunteer_app.initiatives.models import OutcomeMetric


def refuse_deleting_a_measured_goal(metric: OutcomeMetric, **_kwargs: object) -> None:
    recorded = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(OutcomeRecord)
        .where(OutcomeRecord.metric_id == metric.id)
    )
    if recorded:
        raise Conflict(
            _(
                "This goal already has outcome records, so it cannot be deleted. "
                "Change its target or deadline instead."
            )
        )


def connect() -> None:
    signals.deleting_goal.connect(refuse_deleting_a_measured_goal)
