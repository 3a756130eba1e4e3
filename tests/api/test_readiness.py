"""/readyz tells a load balancer the truth about the store."""

from __future__ import annotations

import httpx

from identity.api.auth.authenticator import DEVELOPMENT_MODE
from identity.api.graphql.http import create_app
from identity.service import IdentityService
from identity.store import GraphStore
from identity.store.sqlite import SqliteGraphStore


async def readyz_before_and_after_closing(store: GraphStore) -> tuple[int, httpx.Response]:
    """/readyz while the store answers, then once it has been closed under the service."""
    service = IdentityService(store)
    app = create_app(lambda: service, authenticator=DEVELOPMENT_MODE)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as client:
        before = (await client.get("/readyz")).status_code
        await store.close()
        return before, await client.get("/readyz")


async def test_readyz_is_503_with_the_reason_when_the_store_cannot_answer() -> None:
    before, after = await readyz_before_and_after_closing(SqliteGraphStore(":memory:"))
    assert before == 200
    assert after.status_code == 503
    assert after.json()["status"] == "unavailable"
    assert "closed" in after.json()["reason"]
