"""Audited writes do not queue on the audit chain (docs/security.md#the-audit-chain): a write that finds the chain
held leaves its events waiting, committed with its change, and they are chained later in one verified order,
none lost, none from a rolled-back change."""

from __future__ import annotations

import asyncio

import pytest
from tortoise.transactions import in_transaction

from marac import settings
from marac.audit import service
from marac.audit.models import AuditEvent, AuditPending
from marac.audit.service import record, seal, verify

postgres_only = pytest.mark.skipif(settings.get().is_sqlite, reason="PostgreSQL only: SQLite has one writer at a time")


def pg_url() -> str:
    return settings.get().database_url.replace("postgres://", "postgresql://", 1)


async def _holding_the_chain():
    """Another transaction that holds the chain (as a writer whose transaction is still open does)."""
    import asyncpg

    other = await asyncpg.connect(pg_url())
    transaction = other.transaction()
    await transaction.start()
    await other.execute(f"SELECT pg_advisory_xact_lock({service.CHAIN_LOCK})")
    return other, transaction


async def test_a_rolled_back_change_leaves_no_event_and_the_next_write_chains_after_the_last_kept(app):
    await record("test.kept", object_id="a")
    with pytest.raises(RuntimeError):
        async with in_transaction() as conn:
            await record("test.rolled_back", object_id="b", conn=conn)
            raise RuntimeError("the change failed")
    await record("test.kept", object_id="c")
    events = await AuditEvent.all().order_by("seq")
    assert [(e.seq, e.object_id) for e in events] == [(1, "a"), (2, "c")]
    assert await AuditPending.all().count() == 0
    assert (await verify()).ok


@postgres_only
async def test_an_audited_write_does_not_wait_for_a_transaction_holding_the_chain(app):
    await record("test.before", object_id="first")
    other, transaction = await _holding_the_chain()
    try:
        # Before, every audited write queued here until the other transaction ended.
        async with asyncio.timeout(5):
            async with in_transaction() as conn:
                waiting = await record("test.during", object_id="second", conn=conn)
        assert waiting.seq is None
        assert [p.object_id for p in await AuditPending.all()] == ["second"]
        assert await AuditEvent.filter(object_id="second").count() == 0
    finally:
        await transaction.rollback()
        await other.close()
    await seal()  # or this process's chainer got there first
    assert [(e.seq, e.object_id) for e in await AuditEvent.all().order_by("seq")] == [(1, "first"), (2, "second")]
    assert await AuditPending.all().count() == 0
    assert (await verify()).ok


@postgres_only
async def test_a_waiting_event_is_chained_soon_after_the_chain_is_free_without_anyone_asking(app):
    other, transaction = await _holding_the_chain()
    try:
        await record("test.during", object_id="waits")
    finally:
        await transaction.rollback()
        await other.close()
    async with asyncio.timeout(service.PATIENCE_SECONDS):
        while not await AuditEvent.filter(object_id="waits").exists():
            await asyncio.sleep(0.05)
    assert await AuditPending.all().count() == 0
    assert (await verify()).ok


@postgres_only
async def test_twenty_concurrent_audited_writes_all_chain_once_in_a_verified_order(app):
    async def write(n: int) -> None:
        async with in_transaction() as conn:
            await record("test.concurrent", object_id=f"w{n}", conn=conn)
            await asyncio.sleep(0.05)  # the change goes on after its event: others find the chain held
            if n % 5 == 4:
                raise RuntimeError("rolled back")

    results = await asyncio.gather(*(write(n) for n in range(20)), return_exceptions=True)
    assert sum(isinstance(r, RuntimeError) for r in results) == 4
    result = await verify()
    kept = {f"w{n}" for n in range(20) if n % 5 != 4}
    found = await AuditEvent.filter(action="test.concurrent").values_list("object_id", flat=True)
    assert sorted(found) == sorted(kept)  # each kept write once, none of the rolled-back ones
    assert result.ok and result.checked == 16 and result.waiting == 0
    assert await AuditPending.all().count() == 0
    seqs = await AuditEvent.all().order_by("seq").values_list("seq", flat=True)
    assert seqs == list(range(1, 17))


@postgres_only
async def test_a_waiting_event_cannot_be_changed_or_removed_before_it_is_chained(app):
    import asyncpg

    other, transaction = await _holding_the_chain()
    owner = await asyncpg.connect(pg_url())
    try:
        await record("test.during", object_id="guarded")
        for statement, refusal in (
            ("UPDATE audit_pending SET object_id = 'someone-else'", "append-only"),
            ("DELETE FROM audit_pending", "not yet chained"),
            ("TRUNCATE audit_pending", "append-only"),
        ):
            with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError, match=refusal):
                await owner.execute(statement)
        assert [p.object_id for p in await AuditPending.all()] == ["guarded"]
    finally:
        await owner.close()
        await transaction.rollback()
        await other.close()
    await seal()
    assert [e.object_id for e in await AuditEvent.all()] == ["guarded"]
    assert (await verify()).ok
