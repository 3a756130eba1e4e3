"""SQLite keeps no erased byte in its files: deleted content is zeroed (secure_delete) and
the WAL is checkpointed and truncated once an erasure commits (docs/architecture.md,
"Erasure and access")."""

from __future__ import annotations

from pathlib import Path

from identity.service import IdentityService, IngestStatus
from identity.store.sqlite import SqliteGraphStore
from tests.builders import event, ident
from tests.erasure.conftest import ERASURE_KEY
from tests.steward.conftest import ticking_clock

EMAIL = b"ana.lindqvist@northwind.org"


def files_holding(folder: Path, text: bytes) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file() and text in p.read_bytes())


async def test_the_erased_email_is_in_neither_the_database_nor_the_wal(tmp_path: Path) -> None:
    store = SqliteGraphStore(str(tmp_path / "graph.db"))
    try:
        service = IdentityService(store, clock=ticking_clock(), profile_cache=0,
                                  erasure_key=ERASURE_KEY)
        others = [event(ident("email", f"person{n}@northwind.org"), event_id=f"o-{n}",
                        traits={"first_name": "Bo"}) for n in range(50)]
        results = await service.ingest([
            event(ident("email", EMAIL.decode()), ident("customer_id", "cust-ana-7"),
                  event_id="ana-1", traits={"first_name": "Ana"}), *others])
        assert all(r.status is IngestStatus.ACCEPTED for r in results)
        # Read through a pooled reader too: its idle connection must not hold the WAL.
        assert (await service.profiles([results[0].profile_id or ""]))[0] is not None
        assert files_holding(tmp_path, EMAIL)  # the check can fail: it is there now

        await service.erase_profile(results[0].profile_id or "", "dpo@northwind.org",
                                    "request 132")

        assert files_holding(tmp_path, EMAIL) == []
        assert (tmp_path / "graph.db-wal").stat().st_size == 0
        assert files_holding(tmp_path, b"person7@northwind.org") == ["graph.db"]
    finally:
        await store.close()
