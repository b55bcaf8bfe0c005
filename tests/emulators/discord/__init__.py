"""A stateful Discord (REST, gateway, CDN) emulator for tests driven through real discord.py.

See `emulator.DiscordEmulator`. What is emulated faithfully and what is not:

Faithful: REST routes discord.py calls for login, application info, commands (global/guild,
bulk overwrite), channel messages (JSON and multipart with files), threads, interaction
callbacks and webhooks; Discord's error bodies and codes; content, embed, component, modal and
25 MiB file limits; per-route buckets with X-RateLimit-* headers and 429 bodies discord.py
honours; the gateway's HELLO/IDENTIFY/READY/GUILD_CREATE, heartbeats, sequence numbers,
RESUME with replay, RECONNECT, INVALID_SESSION, close codes and intents (MESSAGE_CONTENT
strips other people's message content); zlib-stream transport compression; signed, expiring
CDN attachment URLs; an event delivered again (`redeliver_interaction`: delivery is at least
once). For download rules, an attachment can be served other than as a file (a redirect, an
HTML page, a URL on a foreign host: a second port that records who asked).

Not emulated, or simplified: channel permission overwrites (permissions are guild-level, from
roles); group DMs, and people writing to the bot in a DM (the bot's DMs, their buttons and
Discord's 50007 for a person who takes no DMs are emulated); presences, voice, stage, polls,
stickers, reactions beyond the bot's own; the `etf` encoding and IDENTIFY payload compression;
sharding (one shard); the identify and per-connection send limits; Cloudflare bans; the exact close
code Discord uses when a client stops heartbeating (4009 here, documented in gateway.py); message
search; audit logs; webhooks other than interaction webhooks; slash-command permission v2
overrides; locales.
"""

from tests.emulators.discord.emulator import DiscordEmulator
from tests.emulators.discord.records import (
    ApiCall,
    Attachment,
    Callback,
    Channel,
    Command,
    Interaction,
    Message,
    MessageVersion,
)
from tests.emulators.discord.seed import (
    ADMIN,
    ADMINS_ROLE,
    ALICE,
    APP_ID,
    BOB,
    BOT_USER_ID,
    EVERYONE_ROLE,
    FINETUNERS_ROLE,
    GENERAL,
    GUILD_ID,
    OTHER_BOT,
    OWNER,
    PRIVATE,
    RANDOM,
)

__all__ = [
    "ADMIN",
    "ADMINS_ROLE",
    "ALICE",
    "APP_ID",
    "BOB",
    "BOT_USER_ID",
    "EVERYONE_ROLE",
    "FINETUNERS_ROLE",
    "GENERAL",
    "GUILD_ID",
    "OTHER_BOT",
    "OWNER",
    "PRIVATE",
    "RANDOM",
    "ApiCall",
    "Attachment",
    "Callback",
    "Channel",
    "Command",
    "DiscordEmulator",
    "Interaction",
    "Message",
    "MessageVersion",
]
