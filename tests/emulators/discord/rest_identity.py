"""Who the bot is and where it lives: /users, /applications/@me, /gateway, guild lookups.

`GET /users/@me` is discord.py's login check (401 there becomes `LoginFailure`), and
`GET /oauth2/applications/@me` fills `Client.application` right after it.
"""

from __future__ import annotations

from tests.emulators.discord import errors
from tests.emulators.discord.records import JsonDict
from tests.emulators.discord.render import render_channel, render_guild, render_member
from tests.emulators.discord.rest import ApiRequest, Reply, Route, snowflake
from tests.emulators.discord.world import World


def _me(world: World, request: ApiRequest) -> Reply:
    body = world.users[world.bot_user_id].render()
    body.update({"verified": True, "mfa_enabled": False, "locale": "en-US", "email": None})
    return Reply(200, body)


def _user(world: World, request: ApiRequest) -> Reply:
    return Reply(200, world.user(request.params["user_id"]).render())


def _open_dm(world: World, request: ApiRequest) -> Reply:
    """`POST /users/@me/channels {recipient_id}`: the DM channel with a person, new or the one
    already open (whether the person takes DMs shows only when the bot posts there)."""
    recipient = request.body().get("recipient_id")
    user_id = snowflake(recipient, ("recipient_id",))
    return Reply(200, render_channel(world, world.open_dm(user_id)))


def application(world: World) -> JsonDict:
    return {
        "id": str(world.application_id),
        "name": world.users[world.bot_user_id].username,
        "icon": None,
        "description": "Fine-tunes OpenAI models from chat.",
        "summary": "",
        "bot_public": False,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "owner": world.users[world.owner_id].render(),
        "team": None,
        "flags": _application_flags(world),
        "bot": world.users[world.bot_user_id].render(),
        "approximate_guild_count": 1,
        "interactions_endpoint_url": None,
        "redirect_uris": [],
        "tags": [],
        "install_params": None,
        "integration_types_config": {"0": {}},
    }


def _application_flags(world: World) -> int:
    """GATEWAY_MESSAGE_CONTENT_LIMITED (1 << 19) when the portal switch is on, as for an
    unverified bot; discord.py reads it into `Client.application_flags`."""
    from tests.emulators.discord.world import MESSAGE_CONTENT

    return (1 << 19) if world.enabled_privileged_intents & MESSAGE_CONTENT else 0


def _application(world: World, request: ApiRequest) -> Reply:
    return Reply(200, application(world))


def _gateway(world: World, request: ApiRequest) -> Reply:
    return Reply(200, {"url": world.gateway_url})


def _gateway_bot(world: World, request: ApiRequest) -> Reply:
    return Reply(
        200,
        {
            "url": world.gateway_url,
            "shards": 1,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 86_400_000,
                "max_concurrency": 1,
            },
        },
    )


def _guild_or_refuse(world: World, guild_id: str) -> None:
    if guild_id != str(world.guild_id):
        raise errors.unknown("Guild", errors.UNKNOWN_GUILD)


def _guild(world: World, request: ApiRequest) -> Reply:
    _guild_or_refuse(world, request.params["guild_id"])
    body = render_guild(world, full=False)
    if request.flag("with_counts"):
        body["approximate_member_count"] = len(world.members)
        body["approximate_presence_count"] = 0
    return Reply(200, body)


def _my_guilds(world: World, request: ApiRequest) -> Reply:
    guild = render_guild(world, full=False)
    return Reply(
        200,
        [
            {
                "id": guild["id"],
                "name": guild["name"],
                "icon": None,
                "owner": False,
                "permissions": str(world.permissions(world.bot_user_id)),
                "features": [],
            }
        ],
    )


def _guild_channels(world: World, request: ApiRequest) -> Reply:
    _guild_or_refuse(world, request.params["guild_id"])
    return Reply(
        200,
        [
            render_channel(world, c)
            for c in world.channels.values()
            if not c.is_thread and not c.is_dm and world.bot_can_view(c)
        ],
    )


def _roles(world: World, request: ApiRequest) -> Reply:
    _guild_or_refuse(world, request.params["guild_id"])
    return Reply(200, [r.render() for r in world.roles.values()])


def _member(world: World, request: ApiRequest) -> Reply:
    _guild_or_refuse(world, request.params["guild_id"])
    member = world.member(request.params["user_id"])
    return Reply(200, render_member(world, member.user_id))


def _members(world: World, request: ApiRequest) -> Reply:
    """Listing members needs the GUILD_MEMBERS privileged intent switched on in the portal."""
    from tests.emulators.discord.world import GUILD_MEMBERS

    _guild_or_refuse(world, request.params["guild_id"])
    if not world.enabled_privileged_intents & GUILD_MEMBERS:
        raise errors.missing_access()
    limit = max(1, min(1000, int(request.query.get("limit", "1") or 1)))
    after = int(request.query.get("after", "0") or 0)
    ids = sorted(u for u in world.members if u > after)[:limit]
    return Reply(200, [render_member(world, u) for u in ids])


ROUTES = [
    Route("GET", "/users/@me", _me),
    Route("GET", "/users/@me/guilds", _my_guilds),
    Route("POST", "/users/@me/channels", _open_dm),
    Route("GET", "/users/{user_id}", _user),
    Route("GET", "/oauth2/applications/@me", _application),
    Route("GET", "/applications/@me", _application),
    Route("GET", "/gateway", _gateway, auth=False),
    Route("GET", "/gateway/bot", _gateway_bot),
    Route("GET", "/guilds/{guild_id}", _guild),
    Route("GET", "/guilds/{guild_id}/channels", _guild_channels),
    Route("GET", "/guilds/{guild_id}/roles", _roles),
    Route("GET", "/guilds/{guild_id}/members", _members),
    Route("GET", "/guilds/{guild_id}/members/{user_id}", _member),
]
