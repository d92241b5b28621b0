"""Who a push may go to: a member who has not deleted their data, who can be reached on at
least one chat app, and — for marketing — who accepted marketing messages.

These are SQL conditions on ``MemberRow``, so the jobs and campaigns select their members
with one query instead of asking member by member.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists

from core.people.members import DELETED_NAME
from storage.models import IdentityRow, MemberRow


def is_deleted() -> ColumnElement[bool]:
    """A member who deleted their data: no column marks it, the name and the empty phone
    do (see ``core.people.members.erase_member``)."""
    return and_(MemberRow.name == DELETED_NAME, MemberRow.phone.is_(None))


def has_reachable_chat() -> ColumnElement[bool]:
    """At least one chat account of the member that has not blocked or unfollowed us (a
    member registered by staff or imported, who never wrote, has none)."""
    return exists().where(IdentityRow.member_id == MemberRow.id, IdentityRow.reachable.is_(True))


def reachable(*, marketing: bool) -> ColumnElement[bool]:
    """Members a push may go to; ``marketing`` pushes also need the member's consent."""
    condition = and_(~is_deleted(), has_reachable_chat())
    if marketing:
        condition = and_(condition, MemberRow.marketing_consent.is_(True))
    return condition
