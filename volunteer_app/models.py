"""Every model, imported in one place so Alembic and the app see the whole schema."""

from volunteer_app.accounts.models import (  # noqa: F401
    LoginSession,
    Membership,
    Organization,
    Role,
    User,
)
from volunteer_app.core.submissions import SubmissionToken  # noqa: F401
from volunteer_app.hours.models import HoursAudit, HoursEntry  # noqa: F401
from volunteer_app.impact.models import OutcomeRecord, VolunteerHourRate  # noqa: F401
from volunteer_app.initiatives.models import Initiative, OutcomeMetric  # noqa: F401
from volunteer_app.matching.models import Invitation  # noqa: F401
from volunteer_app.reference.models import (  # noqa: F401
    Cause,
    Language,
    Neighborhood,
    ProgramSetting,
    Skill,
)
from volunteer_app.shifts.models import Shift, Signup  # noqa: F401
from volunteer_app.sms.models import Message  # noqa: F401
