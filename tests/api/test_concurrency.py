"""Two writers with the same version at once: exactly one wins and nothing is lost."""

import threading
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from api.audit.models import AuditEvent
from api.db import get_session, make_engine, unit_of_work
from api.main import create_app
from api.migrate import upgrade
from tests.conftest import scheme_body


def test_concurrent_writers_exactly_one_wins(scratch_database_url):
    from api.deps import principal_for
    from api.systems import service as systems
    from api.systems.schemas import OrganisationCreate, SystemCreate
    from api.users import service as users
    from api.users.models import User

    upgrade(scratch_database_url)
    engine = make_engine(scratch_database_url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory.begin() as session:
        root = principal_for(User(id=None, name="loader", role="admin"))
        systems.create_system(session, principal=root, body=SystemCreate(code="SYA", name="A"))
        body = OrganisationCreate(code="RA1", name="A1", kind="acute", systems=["SYA"])
        systems.create_organisation(session, principal=root, body=body)
        user = users.create_user(session, name="t", role="trust", organisation_code="RA1")
        token = users.issue_token(session, user=user)

    app = create_app()

    def real_session():
        with unit_of_work(factory) as session:
            yield session

    app.dependency_overrides[get_session] = real_session
    headers = {"Authorization": f"Bearer {token}"}
    writers = 6
    with TestClient(app) as client:
        scheme = client.post("/api/v1/schemes", json=scheme_body(), headers=headers).json()
        barrier = threading.Barrier(writers)

        def write(index: int):
            barrier.wait()
            return client.patch(
                f"/api/v1/schemes/{scheme['id']}",
                json={"title": f"writer {index}", "cost_profile": {"2026/27": 1000 + index}},
                headers={**headers, "If-Match": "1"},
            )

        with ThreadPoolExecutor(writers) as pool:
            responses = list(pool.map(write, range(writers)))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [412] * (writers - 1)
        winner = next(r.json() for r in responses if r.status_code == 200)
        final = client.get(f"/api/v1/schemes/{scheme['id']}", headers=headers).json()
        # The stored scheme is exactly the winner's write: title and profile from the same writer.
        assert final["version"] == 2
        assert final["title"] == winner["title"]
        index = int(final["title"].split()[-1])
        assert final["cost_profile"] == {"2026/27": 1000 + index}
    # Only the winning write left an audit event: the losers rolled back completely.
    with factory() as session:
        updates = session.scalars(
            select(AuditEvent).where(AuditEvent.entity == "scheme", AuditEvent.action == "update")
        ).all()
        assert [e.after["title"] for e in updates] == [winner["title"]]
    engine.dispose()
