"""Who may do what, and where: the team's rule, the same for every chat front end.

Starting a job spends money and cancelling or deleting destroys work, so a team can name the
people and channels allowed to do that. Checking a file and talking to a bound model cost little
and help everyone, so they stay open. Admins may always act: they are who a refusal sends people
to, and a rule they could lock themselves out with would need a redeploy to undo.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    """What a person asks to do that the team may restrict."""

    START = "start"
    # Pause and resume stop a run's spending or restart it: they count as cancelling.
    CANCEL = "cancel"
    DELETE = "delete"
    # Approving or rejecting a job over the approval limit: admins only.
    DECIDE = "decide"
    # Changing the workspace's settings (its OpenAI key): admins only.
    CONFIGURE = "configure"
    # Reading the audit log (who did what, and what it cost): admins only.
    AUDIT = "audit"


class Reason(StrEnum):
    """Why a person was refused."""

    USER_NOT_ALLOWED = "user_not_allowed"
    CHANNEL_NOT_ALLOWED = "channel_not_allowed"
    ADMINS_ONLY = "admins_only"


@dataclass(frozen=True)
class Refusal:
    """A refusal the front end words: which action, why, and the channels that would do."""

    action: Action
    reason: Reason
    allowed_channels: tuple[str, ...] = ()


_ADMINS_ONLY = frozenset({Action.DECIDE, Action.CONFIGURE, Action.AUDIT})


@dataclass(frozen=True)
class Person:
    """Who asks, as a platform with roles (Discord) describes them.

    `platform_admin` is what the platform itself says: a guild's owner or a member with the
    Administrator permission. Roles are ids; the team names which ones count in the settings.
    """

    user_id: str
    role_ids: frozenset[str] = frozenset()
    platform_admin: bool = False


def _ids(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v.strip() for v in values if v.strip())


class TeamPolicy:
    """The allow-lists (empty = everyone, everywhere) and the rule that reads them.

    On platforms with roles, `allowed_roles` widen the people list (a member holding one may act
    like a listed user) and `admin_roles` and `admins` make admins of their holders.
    """

    def __init__(
        self,
        allowed_users: Iterable[str] = (),
        allowed_channels: Iterable[str] = (),
        *,
        allowed_roles: Iterable[str] = (),
        admin_roles: Iterable[str] = (),
        admins: Iterable[str] = (),
    ) -> None:
        self.allowed_users = _ids(allowed_users)
        self.allowed_channels = tuple(
            dict.fromkeys(c.strip() for c in allowed_channels if c.strip())
        )
        self.allowed_roles = _ids(allowed_roles)
        self.admin_roles = _ids(admin_roles)
        self.admins = _ids(admins)

    def is_admin(self, person: Person) -> bool:
        """The platform's own admins, the configured admin user ids, and holders of an admin
        role."""
        return (
            person.platform_admin
            or person.user_id in self.admins
            or bool(person.role_ids & self.admin_roles)
        )

    def check_person(
        self, action: Action, person: Person, channel_id: str | None
    ) -> Refusal | None:
        """`check` for a person whose roles and admin standing are known up front."""
        return self.check(
            action, person.user_id, channel_id, lambda: self.is_admin(person), person.role_ids
        )

    def check(
        self,
        action: Action,
        user_id: str,
        channel_id: str | None,
        is_admin: Callable[[], bool],
        role_ids: frozenset[str] = frozenset(),
    ) -> Refusal | None:
        """None when the person may do it here, else why not.

        `is_admin` is asked only when the lists alone would refuse (or the action is for admins
        only): on a chat platform it may cost a call to the platform.
        """
        if action in _ADMINS_ONLY:
            return None if is_admin() else Refusal(action, Reason.ADMINS_ONLY)
        refusal: Refusal | None = None
        restricts_people = bool(self.allowed_users or self.allowed_roles)
        listed = user_id in self.allowed_users or bool(role_ids & self.allowed_roles)
        if restricts_people and not listed:
            refusal = Refusal(action, Reason.USER_NOT_ALLOWED)
        elif self.allowed_channels and channel_id not in self.allowed_channels:
            refusal = Refusal(action, Reason.CHANNEL_NOT_ALLOWED, self.allowed_channels)
        if refusal is not None and is_admin():
            return None
        return refusal
