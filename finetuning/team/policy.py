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


_ADMINS_ONLY = frozenset({Action.DECIDE, Action.CONFIGURE})


class TeamPolicy:
    """The allow-lists (empty = everyone, everywhere) and the rule that reads them."""

    def __init__(
        self, allowed_users: Iterable[str] = (), allowed_channels: Iterable[str] = ()
    ) -> None:
        self.allowed_users = frozenset(u.strip() for u in allowed_users if u.strip())
        self.allowed_channels = tuple(
            dict.fromkeys(c.strip() for c in allowed_channels if c.strip())
        )

    def check(
        self,
        action: Action,
        user_id: str,
        channel_id: str | None,
        is_admin: Callable[[], bool],
    ) -> Refusal | None:
        """None when the person may do it here, else why not.

        `is_admin` is asked only when the lists alone would refuse (or the action is for admins
        only): on a chat platform it may cost a call to the platform.
        """
        if action in _ADMINS_ONLY:
            return None if is_admin() else Refusal(action, Reason.ADMINS_ONLY)
        refusal: Refusal | None = None
        if self.allowed_users and user_id not in self.allowed_users:
            refusal = Refusal(action, Reason.USER_NOT_ALLOWED)
        elif self.allowed_channels and channel_id not in self.allowed_channels:
            refusal = Refusal(action, Reason.CHANNEL_NOT_ALLOWED, self.allowed_channels)
        if refusal is not None and is_admin():
            return None
        return refusal
