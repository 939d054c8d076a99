"""The home page: what this person can do, by role."""

from fastapi import APIRouter, Request

from api.deps import SessionDep
from api.rounds import service as rounds_service
from api.systems import repository as systems_repository
from web.app import render
from web.lists import all_of
from web.routes.assess import queue_for
from web.routes.rounds import new_round_refusal
from web.security import WebUser

router = APIRouter()


@router.get("/")
def home(request: Request, session: SessionDep, principal: WebUser):
    systems = all_of(systems_repository.list_systems, session, ids=principal.system_ids)
    rounds = all_of(rounds_service.list_rounds, session, principal=principal, system=None)
    queue = queue_for(session, principal) if principal.role == "assessor" else []
    sets_up_rounds = new_round_refusal(session, principal, systems=systems) is None
    return render(request, "home.html", systems=systems, rounds=rounds, queue=queue,
                  sets_up_rounds=sets_up_rounds)  # fmt: skip
