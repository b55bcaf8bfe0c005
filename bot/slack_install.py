"""How the process reaches Slack: one bot token, or OAuth installs kept in the database.

With SLACK_CLIENT_ID and SLACK_CLIENT_SECRET the app is distributed: each workspace installs it at
`/slack/install`, and its bot token is stored by slack_sdk's SQLAlchemy installation store on the
app's own engine (tables from migration 0009, never created at run time). The OAuth `state` that
ties Slack's redirect to the browser that started the install is kept there too, so it survives
restarts and works whichever replica the redirect reaches.
"""

from __future__ import annotations

from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine

from bot.settings import Settings
from handlers.slack.clients import SlackClients
from handlers.slack.manifest import OAUTH_REDIRECT_PATH

STATE_SECONDS = 600
"""How long an install may take between /slack/install and Slack's redirect back."""
REDIRECT_PATH = OAUTH_REDIRECT_PATH


def slack_connection(
    settings: Settings, engine: Engine
) -> tuple[SlackClients, OAuthSettings | None]:
    """The clients every Slack call goes through, and the OAuth flow's settings (None with a
    single bot token)."""
    if not settings.slack_oauth:
        return SlackClients(settings.slack_api_url, token=settings.slack_bot_token or ""), None
    client_id = str(settings.slack_client_id)
    installations = SQLAlchemyInstallationStore(client_id=client_id, engine=engine)
    public = (settings.tunebot_public_url or "").rstrip("/")
    oauth = OAuthSettings(
        client_id=client_id,
        client_secret=settings.slack_client_secret,
        scopes=settings.slack_scopes,
        user_scopes=[],
        redirect_uri=f"{public}{REDIRECT_PATH}" if public else None,
        redirect_uri_path=REDIRECT_PATH,
        authorization_url=settings.slack_authorize_url,
        # Straight to Slack's approval page: Bolt's interstitial "Add to Slack" page adds a
        # click and nothing else.
        install_page_rendering_enabled=False,
        installation_store=installations,
        installation_store_bot_only=True,
        state_store=SQLAlchemyOAuthStateStore(expiration_seconds=STATE_SECONDS, engine=engine),
        state_expiration_seconds=STATE_SECONDS,
    )
    return SlackClients(settings.slack_api_url, installations=installations), oauth
