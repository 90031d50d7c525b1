"""Credits: each tenant's balance, and the ledger of every movement.

A generation reserves its cost when it is submitted (taken from the balance, in the
job's own creating transaction), and is settled in the job's final transaction:
charged when it succeeded, refunded when it failed or was canceled. The job's final
transition happens once, and the ledger holds at most one reserve, charge and refund
per job (a unique index), so retries, redeliveries and recoveries never move credits
twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage.models import CreditAccount, CreditTransaction, Job, utcnow

RECHARGE, RESERVE, CHARGE, REFUND = "recharge", "reserve", "charge", "refund"


class InsufficientCredits(Exception):
    """The balance does not cover the cost."""

    def __init__(self, balance: int, needed: int) -> None:
        self.balance, self.needed = balance, needed
        super().__init__(f"{needed} credits needed, {balance} available")


@dataclass(frozen=True)
class CreditMovement:
    id: int
    kind: str
    amount: int
    balance_after: int
    job_id: str | None
    note: str | None
    at: datetime


def balance(session: Session, tenant_id: str) -> int:
    """The tenant's spendable credits (0 without an account)."""
    account = session.get(CreditAccount, tenant_id, populate_existing=True)
    return 0 if account is None else account.balance


def recharge(session: Session, tenant_id: str, amount: int, note: str | None = None) -> int:
    """Add `amount` (> 0) credits; returns the new balance."""
    if amount <= 0:
        raise ValueError("a recharge adds a positive number of credits")
    if session.get(CreditAccount, tenant_id) is None:
        session.add(CreditAccount(tenant_id=tenant_id, balance=0))
        session.flush()
    return _move(session, tenant_id, None, RECHARGE, amount, note)


def reserve(session: Session, tenant_id: str, job_id: str, cost: int) -> int:
    """Take `cost` for job `job_id` from the balance, in the caller's transaction;
    `InsufficientCredits` (and nothing taken) when the balance is short."""
    taken = session.execute(
        update(CreditAccount)
        .where(CreditAccount.tenant_id == tenant_id, CreditAccount.balance >= cost)
        .values(balance=CreditAccount.balance - cost, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not taken:
        raise InsufficientCredits(balance(session, tenant_id), cost)
    session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(credits_reserved=cost)
        .execution_options(synchronize_session=False)
    )
    return _record(session, tenant_id, job_id, RESERVE, -cost, f"reserved for {job_id}")


def settle(session: Session, job_id: str, succeeded: bool) -> int | None:
    """In the job's final transaction: charge its reservation if it succeeded, else
    refund it. Returns the credits used (None when the job reserved nothing). The
    caller may skip it for a job whose row says it reserved nothing (`credits_reserved`)."""
    reserved = _movement(session, job_id, RESERVE)
    if reserved is None:
        return None
    cost = -reserved.amount
    if _movement(session, job_id, CHARGE) is not None:
        return cost
    if _movement(session, job_id, REFUND) is not None:
        return 0
    if succeeded:
        _record(session, reserved.tenant_id, job_id, CHARGE, 0, f"{cost} credits used")
        return cost
    _move(session, reserved.tenant_id, job_id, REFUND, cost, f"refunded for {job_id}")
    return 0


def credits_used(session: Session, job_id: str) -> int:
    """What a job has cost so far: its reservation unless refunded (0 if none)."""
    reserved = _movement(session, job_id, RESERVE)
    if reserved is None or _movement(session, job_id, REFUND) is not None:
        return 0
    return -reserved.amount


def reserved_for(session: Session, job_id: str) -> bool:
    """Whether job `job_id` reserved credits (its ledger then holds its one settlement)."""
    return _movement(session, job_id, RESERVE) is not None


def movements(
    session: Session, tenant_id: str, limit: int, offset: int
) -> tuple[list[CreditMovement], int]:
    """The tenant's ledger, newest first, one page; and how many movements in all."""
    rows = session.scalars(
        select(CreditTransaction)
        .where(CreditTransaction.tenant_id == tenant_id)
        .order_by(CreditTransaction.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    total = session.scalar(select(func.count()).where(CreditTransaction.tenant_id == tenant_id))
    items = [
        CreditMovement(r.id, r.kind, r.amount, r.balance_after, r.job_id, r.note, r.at)
        for r in rows
    ]
    return items, int(total or 0)


def _movement(session: Session, job_id: str, kind: str) -> CreditTransaction | None:
    return session.scalars(
        select(CreditTransaction).where(
            CreditTransaction.job_id == job_id, CreditTransaction.kind == kind
        )
    ).first()


def _move(
    session: Session, tenant_id: str, job_id: str | None, kind: str, amount: int, note: str | None
) -> int:
    session.execute(
        update(CreditAccount)
        .where(CreditAccount.tenant_id == tenant_id)
        .values(balance=CreditAccount.balance + amount, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return _record(session, tenant_id, job_id, kind, amount, note)


def _record(
    session: Session, tenant_id: str, job_id: str | None, kind: str, amount: int, note: str | None
) -> int:
    after = balance(session, tenant_id)
    session.add(
        CreditTransaction(
            tenant_id=tenant_id,
            job_id=job_id,
            kind=kind,
            amount=amount,
            balance_after=after,
            note=note,
        )
    )
    session.flush()
    return after
