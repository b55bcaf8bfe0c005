"""The guild every emulator starts with: fixed ids, so tests can name people and channels.

Roles follow a team that fine-tunes: everyone may talk, "Fine-tuners" may start jobs, "Admins"
hold Discord's Administrator permission; the guild owner has every permission by ownership.
#private is a channel the bot's role cannot see, for 50001 Missing Access.
"""

from __future__ import annotations

from tests.emulators.discord.records import Channel, Member, Role, User

GUILD_ID = 900000000000000001
APP_ID = 900000000000000002
BOT_USER_ID = APP_ID  # a bot user's id is its application's id
OWNER = 900000000000000010
ADMIN = 900000000000000011
ALICE = 900000000000000012
BOB = 900000000000000013
OTHER_BOT = 900000000000000014  # another application's bot in the guild
GENERAL = 900000000000000100
RANDOM = 900000000000000101
PRIVATE = 900000000000000102
EVERYONE_ROLE = GUILD_ID  # @everyone's id is the guild's id
FINETUNERS_ROLE = 900000000000000200
ADMINS_ROLE = 900000000000000201
BOT_ROLE = 900000000000000202

# Permission bits (https://discord.com/developers/docs/topics/permissions)
ADMINISTRATOR = 1 << 3
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1

EVERYONE_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)
BOT_PERMISSIONS = EVERYONE_PERMISSIONS | MANAGE_THREADS


def seed_users(bot_name: str) -> list[User]:
    return [
        User(BOT_USER_ID, bot_name, None, bot=True),
        User(OWNER, "olivia", "Olivia"),
        User(ADMIN, "adam", "Adam"),
        User(ALICE, "alice", "Alice"),
        User(BOB, "bob", "Bob"),
        User(OTHER_BOT, "helperbot", None, bot=True),
    ]


def seed_roles() -> list[Role]:
    return [
        Role(EVERYONE_ROLE, "@everyone", EVERYONE_PERMISSIONS, position=0),
        Role(FINETUNERS_ROLE, "Fine-tuners", EVERYONE_PERMISSIONS, position=1, color=0x3498DB),
        Role(ADMINS_ROLE, "Admins", ADMINISTRATOR, position=2, color=0xE74C3C),
        Role(BOT_ROLE, "tunebot", BOT_PERMISSIONS, position=3),
    ]


def seed_members() -> list[Member]:
    return [
        Member(BOT_USER_ID, [BOT_ROLE]),
        Member(OWNER, []),
        Member(ADMIN, [ADMINS_ROLE]),
        Member(ALICE, [FINETUNERS_ROLE]),
        Member(BOB, []),
        Member(OTHER_BOT, []),
    ]


def seed_channels() -> list[Channel]:
    return [
        Channel(GENERAL, GUILD_ID, "general", position=0, topic="Fine-tuning talk"),
        Channel(RANDOM, GUILD_ID, "random", position=1),
        Channel(PRIVATE, GUILD_ID, "private", position=2, bot_can_view=False),
    ]
