"""Entry point for tests: `from tests.emulators.slack_emulator import SlackEmulator`.

The emulator itself lives in `tests/emulators/slack/`, one module per job.
"""

from tests.emulators.slack import (
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
    ApiCall,
    Delivery,
    Ephemeral,
    Message,
    ResponsePost,
    SlackEmulator,
    SlackWorkspace,
    StoredFile,
    View,
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
