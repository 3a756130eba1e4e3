"""/readyz tells a load balancer the truth about the store."""

from __future__ import annotations

import httpx

from identity.api.graphql.http import create_app
from identity.service import IdentityService
from identity.store.sqlite import SqliteGraphStore


async def test_readyz_is_503_with_the_reason_when_the_store_cannot_answer() -> None:
    store = SqliteGraphStore(":memory:")
    service = IdentityService(store)
    app = create_app(lambda: service)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as client:
        assert (await client.get("/readyz")).status_code == 200
        await store.close()
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "closed" in response.json()["reason"]
