"""The change feed's newest position, on both stores: watching after it gets the changes
made from then on and none before (the console follows a profile it has just shown)."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

from identity.service import IdentityService
from identity.service.change_feed import format_position
from tests.builders import event, ident


async def test_an_empty_log_starts_at_zero(service: IdentityService) -> None:
    assert await service.latest_change_position() == format_position(0)


async def test_watching_after_the_latest_position_skips_what_came_before(
    service: IdentityService,
) -> None:
    (old,) = await service.ingest([event(ident("email", "ann@northwind.org"))])
    await service.ingest([event(ident("email", "ann@northwind.org"), ident("customer_id", "A-1"))])
    now = await service.latest_change_position()
    assert now > format_position(0)
    assert old.profile_id is not None
    async with aclosing(service.watch_changes(now, [old.profile_id])) as changes:
        waiting = asyncio.ensure_future(anext(changes))
        await asyncio.sleep(0.2)
        assert not waiting.done()  # nothing before `now` is replayed
        await service.ingest(
            [event(ident("email", "ann@northwind.org"), ident("phone", "+442071838750"))]
        )
        change = await asyncio.wait_for(waiting, timeout=5)
    assert change.change.profile_id == old.profile_id
    assert change.position > now
    assert await service.latest_change_position() == change.position
