"""The content platform's users (seed 003): one tenant each.

Registering creates the user and a tenant of their own in one transaction, so a
user's credits (the tenant's credit account) and creations (the tenant's jobs) are
theirs alone, and every query here is scoped by that tenant. Membership is set by an
operator. Rows stay inside this module; callers get `UserView`s.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage import tenants
from storage.models import Base, utcnow

REFERRAL_ALPHABET = string.ascii_uppercase + string.digits
REFERRAL_LENGTH = 8
TENANT_PREFIX = "content-user"


class ContentUser(Base):
    __tablename__ = "content_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(40), ForeignKey("tenants.id"), unique=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    referral_code: Mapped[str] = mapped_column(String(16), unique=True)
    membership_type: Mapped[str | None] = mapped_column(String(20), nullable=True)
    membership_end_date: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class UserView:
    id: int
    tenant_id: str
    username: str
    email: str
    password_hash: str
    referral_code: str
    membership_type: str | None
    membership_end_date: datetime | None

    def is_member(self, now: datetime | None = None) -> bool:
        """A member until the end date (UTC) of the membership set."""
        end = self.membership_end_date
        return end is not None and end > (now or utcnow())


class UserTaken(Exception):
    """The username or email is already registered."""


class UserNotFound(Exception):
    """No such user."""


def view(row: ContentUser) -> UserView:
    return UserView(
        row.id,
        row.tenant_id,
        row.username,
        row.email,
        row.password_hash,
        row.referral_code,
        row.membership_type,
        row.membership_end_date,
    )


def register(session: Session, username: str, email: str, password_hash: str) -> UserView:
    """A new user with a tenant of their own; `UserTaken` (nothing kept) if the username
    or email is registered."""
    if session.scalar(
        select(ContentUser.id).where(
            or_(ContentUser.username == username, ContentUser.email == email)
        )
    ):
        raise UserTaken(username)
    tenant = tenants.tenant_named(session, f"{TENANT_PREFIX}:{secrets.token_hex(12)}")
    row = ContentUser(
        tenant_id=tenant.id,
        username=username,
        email=email,
        password_hash=password_hash,
        referral_code=new_referral_code(),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise UserTaken(username) from None
    return view(row)


def new_referral_code() -> str:
    return "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(REFERRAL_LENGTH))


def by_username(session: Session, username: str) -> UserView | None:
    """The active user of this name, or None."""
    row = session.scalars(
        select(ContentUser).where(ContentUser.username == username, ContentUser.is_active)
    ).first()
    return None if row is None else view(row)


def of_tenant(session: Session, tenant_id: str, user_id: int) -> UserView | None:
    """User `user_id` if it is the active user of `tenant_id`, else None."""
    row = session.scalars(
        select(ContentUser).where(
            ContentUser.id == user_id, ContentUser.tenant_id == tenant_id, ContentUser.is_active
        )
    ).first()
    return None if row is None else view(row)


def set_membership(
    session: Session, username: str, membership_type: str | None, end: datetime | None
) -> UserView:
    """Make `username` a member of `membership_type` until `end` (UTC), or, with None,
    end the membership; `UserNotFound` for an unknown user."""
    row = session.scalars(select(ContentUser).where(ContentUser.username == username)).first()
    if row is None:
        raise UserNotFound(username)
    row.membership_type, row.membership_end_date = membership_type, end
    session.flush()
    return view(row)
