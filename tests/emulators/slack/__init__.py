"""A stateful Slack workspace emulator for end-to-end tests (see `emulator.SlackEmulator`)."""

from tests.emulators.slack.emulator import SlackEmulator
from tests.emulators.slack.records import (
    ApiCall,
    Delivery,
    Ephemeral,
    Message,
    ResponsePost,
    StoredFile,
    View,
)
from tests.emulators.slack.view import SlackWorkspace
from tests.emulators.slack.workspace import (
    ADMIN,
    ALICE,
    APP_ID,
    BOB,
    BOT_ID,
    BOT_USER_ID,
    GENERAL,
    OWNER,
    PRIVATE,
    RANDOM,
)

__all__ = [
    "ADMIN",
    "ALICE",
    "APP_ID",
    "BOB",
    "BOT_ID",
    "BOT_USER_ID",
    "GENERAL",
    "OWNER",
    "PRIVATE",
    "RANDOM",
    "ApiCall",
    "Delivery",
    "Ephemeral",
    "Message",
    "ResponsePost",
    "SlackEmulator",
    "SlackWorkspace",
    "StoredFile",
    "View",
]
