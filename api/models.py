"""Every model, imported in one place so Alembic and the mapper see the whole schema."""

from api.assessments.models import Assessment
from api.audit.models import AuditEvent
from api.db import Base
from api.jobs.models import Job, JobPart
from api.rounds.models import Round, RoundYear, Run
from api.schemes.models import Scheme, SchemeCost, scheme_dependencies
from api.systems.models import Organisation, System, system_organisations
from api.users.models import ApiToken, User

__all__ = [
    "ApiToken",
    "Assessment",
    "AuditEvent",
    "Base",
    "Job",
    "JobPart",
    "Organisation",
    "Round",
    "RoundYear",
    "Run",
    "Scheme",
    "SchemeCost",
    "System",
    "User",
    "scheme_dependencies",
    "system_organisations",
]
