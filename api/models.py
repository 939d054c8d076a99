"""Every model, imported in one place so Alembic and the mapper see the whole schema."""

from api.assessments.models import Assessment
from api.audit.models import AuditEvent
from api.db import Base
from api.delivery.models import DeliveryMonth, PeriodClose, ReportingPeriod, SchemeDelivery
from api.jobs.models import Job, JobPart
from api.reference.models import OrganisationFact
from api.rounds.models import Round, RoundYear, Run
from api.schemes.models import Scheme, SchemeCost, scheme_dependencies
from api.systems.models import Organisation, System, system_organisations
from api.users.models import ApiToken, User

__all__ = [
    "ApiToken",
    "Assessment",
    "AuditEvent",
    "Base",
    "DeliveryMonth",
    "Job",
    "JobPart",
    "Organisation",
    "OrganisationFact",
    "PeriodClose",
    "ReportingPeriod",
    "Round",
    "RoundYear",
    "Run",
    "Scheme",
    "SchemeCost",
    "SchemeDelivery",
    "System",
    "User",
    "scheme_dependencies",
    "system_organisations",
]
