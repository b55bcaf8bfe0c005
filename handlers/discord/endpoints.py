"""Point discord.py at a Discord API other than discord.com: a proxy, or the tests' emulator.

discord.py has no client option for this. Two class attributes decide where it goes:

- `discord.http.Route.BASE` (`https://discord.com/api/v10`): every REST call, interaction
  callbacks and interaction webhooks included, is built from it;
- `discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY` (`wss://gateway.discord.gg/`): where
  `Client.connect` opens its first gateway connection. A plain `Client` (discord.py 2.7) does
  not ask `GET /gateway/bot` for that URL (only `AutoShardedClient` does); afterwards it
  follows READY's `resume_gateway_url`, and after an INVALID_SESSION it returns to this default.

`use_discord_api` sets both, asking the API's `GET /gateway` (no token needed) for the gateway
URL, so one setting (`DISCORD_API_URL`) covers REST and the websocket. Call it before the
client logs in; it changes the whole process, which is what a bot process wants.
"""

from __future__ import annotations

import re

import discord.http
import httpx
import yarl
from discord.gateway import DiscordWebSocket

DISCORD_API_URL = "https://discord.com/api"
DISCORD_GATEWAY = yarl.URL("wss://gateway.discord.gg/")


def versioned(api_url: str) -> str:
    """`https://host/api` → `https://host/api/v10`; a URL that names a version keeps it."""
    base = api_url.rstrip("/")
    if re.search(r"/v\d+$", base):
        return base
    return f"{base}/v{discord.http.INTERNAL_API_VERSION}"


def use_discord_api(api_url: str | None, *, timeout: float = 10.0) -> str:
    """Send discord.py's REST calls to `api_url` and its gateway to the URL that API names.

    `None` or "" restores discord.com. Returns the gateway URL now in use. Raises
    `httpx.HTTPError` when the API cannot be reached or does not name a gateway.
    """
    if not api_url:
        discord.http.Route.BASE = versioned(DISCORD_API_URL)
        DiscordWebSocket.DEFAULT_GATEWAY = DISCORD_GATEWAY
        return str(DISCORD_GATEWAY)
    base = versioned(api_url)
    response = httpx.get(f"{base}/gateway", timeout=timeout)
    response.raise_for_status()
    gateway = response.json().get("url")
    if not isinstance(gateway, str) or not gateway:
        raise httpx.HTTPError(f"{base}/gateway did not name a gateway URL")
    discord.http.Route.BASE = base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)
    return gateway
