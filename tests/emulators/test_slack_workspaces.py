"""One emulator server, several workspaces told apart by token, and OAuth installs into them,
driven through the real `slack_sdk` as Slack's own would be."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from slack_sdk import WebClient

from tests.emulators.slack_emulator import ALICE, GENERAL, SlackEmulator, SlackWorkspace
from tests.emulators.test_slack_emulator import (  # noqa: F401  (the fixture, by name)
    SECRET,
    TEAM,
    TOKEN,
    Receiver,
    api_error,
    fetch,
    receiver,
)

OTHER = "T002"
OTHER_TOKEN = "xoxb-2222222222-2222222222222-otherWorkspaceToken"
REDIRECT = "http://127.0.0.1:1/slack/oauth_redirect"
SCOPES = "chat:write,commands"


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator(bot_token=TOKEN, signing_secret=SECRET, team_id=TEAM) as emulator:
        yield emulator


@pytest.fixture
def other(slack: SlackEmulator) -> SlackWorkspace:
    return slack.add_workspace(OTHER, installed=True, bot_token=OTHER_TOKEN)


def client(slack: SlackEmulator, token: str) -> WebClient:
    return WebClient(token=token, base_url=slack.api_url, timeout=5)


def authorize(slack: SlackEmulator, **params: str) -> tuple[int, dict[str, list[str]], str]:
    """A person opens the authorize page and clicks Allow: (status, redirect query, target)."""
    query = {"client_id": slack.client_id, "scope": SCOPES, "state": "st-1", **params}
    status, location, _ = fetch(f"{slack.authorize_url}?{urlencode(query)}")
    target = urlsplit(location)
    return status, parse_qs(target.query), f"{target.scheme}://{target.netloc}{target.path}"


# -- routing by token ----------------------------------------------------------------------------


def test_each_token_opens_its_own_workspace_and_no_other(
    slack: SlackEmulator, other: SlackWorkspace
) -> None:
    mine, theirs = client(slack, TOKEN), client(slack, OTHER_TOKEN)

    posted_here = mine.chat_postMessage(channel=GENERAL, text="for T001")
    posted_there = theirs.chat_postMessage(channel=GENERAL, text="for T002")

    assert [m.text for m in slack.messages(GENERAL)] == ["for T001"]
    assert [m.text for m in other.messages(GENERAL)] == ["for T002"]
    refused = api_error(
        lambda: mine.chat_update(channel=GENERAL, ts=posted_there["ts"], text="overwrite")
    )
    assert refused.response["error"] == "message_not_found"
    history = theirs.conversations_history(channel=GENERAL)["messages"]
    assert [m["text"] for m in history] == ["for T002"]
    assert posted_here["ts"] not in {m["ts"] for m in history}
    assert [c.token for c in other.calls] == [OTHER_TOKEN, OTHER_TOKEN]
    assert {c.token for c in slack.calls} == {TOKEN}


def test_auth_test_answers_for_the_tokens_workspace(
    slack: SlackEmulator, other: SlackWorkspace
) -> None:
    here, there = client(slack, TOKEN).auth_test(), client(slack, OTHER_TOKEN).auth_test()

    assert (here["team_id"], here["user_id"]) == (TEAM, slack.bot_user_id)
    assert (there["team_id"], there["user_id"], there["bot_id"]) == (
        OTHER,
        other.bot_user_id,
        other.bot_id,
    )
    assert other.bot_user_id != slack.bot_user_id


def test_files_download_only_with_their_own_workspaces_token(
    slack: SlackEmulator, other: SlackWorkspace
) -> None:
    shared = other.share_file(ALICE, GENERAL, "t.jsonl", b'{"a": 1}\n')
    url = str(shared["url_private_download"])

    assert fetch(url, OTHER_TOKEN)[2] == b'{"a": 1}\n'
    assert fetch(url, TOKEN)[1] == "text/html", "another workspace's token gets the login page"


def test_a_workspace_not_installed_has_no_working_token(slack: SlackEmulator) -> None:
    waiting = slack.add_workspace("T003")

    assert not waiting.installed
    assert api_error(lambda: client(slack, "xoxb-made-up").auth_test()).response["error"] == (
        "invalid_auth"
    )


# -- OAuth -----------------------------------------------------------------------------------


def test_allow_redirects_with_a_code_that_buys_the_workspaces_bot_token(
    slack: SlackEmulator,
) -> None:
    waiting = slack.add_workspace(OTHER)

    status, query, target = authorize(slack, team=OTHER, redirect_uri=REDIRECT)
    granted = client(slack, "").oauth_v2_access(
        client_id=slack.client_id,
        client_secret=slack.client_secret,
        code=query["code"][0],
        redirect_uri=REDIRECT,
    )

    assert (status, target, query["state"]) == (302, REDIRECT, ["st-1"])
    assert granted["token_type"] == "bot"
    assert granted["team"]["id"] == OTHER and granted["bot_user_id"] == waiting.bot_user_id
    assert granted["scope"] == SCOPES
    token = str(granted["access_token"])
    assert token.startswith("xoxb-") and token == waiting.bot_token and waiting.installed
    assert client(slack, token).auth_test()["team_id"] == OTHER


def test_a_code_is_good_once_and_only_with_the_apps_secret(slack: SlackEmulator) -> None:
    slack.add_workspace(OTHER)
    _, query, _ = authorize(slack, team=OTHER, redirect_uri=REDIRECT)
    code = query["code"][0]
    exchange = client(slack, "").oauth_v2_access

    wrong_secret = api_error(
        lambda: exchange(client_id=slack.client_id, client_secret="nope", code=code)
    )
    wrong_uri = api_error(
        lambda: exchange(
            client_id=slack.client_id,
            client_secret=slack.client_secret,
            code=code,
            redirect_uri="http://127.0.0.1:1/elsewhere",
        )
    )
    reused = api_error(
        lambda: exchange(
            client_id=slack.client_id,
            client_secret=slack.client_secret,
            code=code,
            redirect_uri=REDIRECT,
        )
    )
    made_up = api_error(
        lambda: exchange(
            client_id=slack.client_id, client_secret=slack.client_secret, code="123.abc"
        )
    )

    assert wrong_secret.response["error"] == "bad_client_secret"
    assert wrong_uri.response["error"] == "bad_redirect_uri", "that spent the code"
    assert reused.response["error"] == "invalid_code"
    assert made_up.response["error"] == "invalid_code"
    assert "nope" not in str([c.params for c in slack.calls_to("oauth.v2.access")])


def test_the_authorize_page_checks_the_client_and_the_redirect(slack: SlackEmulator) -> None:
    slack.redirect_urls = [REDIRECT]

    unknown_app = fetch(f"{slack.authorize_url}?client_id=999.999&state=s")
    elsewhere = fetch(
        f"{slack.authorize_url}?"
        + urlencode({"client_id": slack.client_id, "redirect_uri": "http://evil.example/cb"})
    )
    status, query, target = authorize(slack)  # no redirect_uri: the configured one

    assert unknown_app[0] == 400 and b"invalid_client_id" in unknown_app[2]
    assert elsewhere[0] == 400 and b"bad_redirect_uri" in elsewhere[2]
    assert (status, target) == (302, REDIRECT) and query["code"]


def test_cancel_redirects_with_access_denied(slack: SlackEmulator) -> None:
    status, query, _ = authorize(slack, redirect_uri=REDIRECT, deny="1")

    assert status == 302 and query["error"] == ["access_denied"] and "code" not in query


# -- uninstalling ----------------------------------------------------------------------------


def test_uninstall_revokes_the_token_and_tells_the_app(
    slack: SlackEmulator,
    receiver: Receiver,  # noqa: F811  (the fixture imported above)
) -> None:
    other = slack.add_workspace(OTHER)
    _, query, _ = authorize(slack, team=OTHER, redirect_uri=REDIRECT)
    token = client(slack, "").oauth_v2_access(
        client_id=slack.client_id,
        client_secret=slack.client_secret,
        code=query["code"][0],
        redirect_uri=REDIRECT,
    )["access_token"]

    other.uninstall()

    revoked = api_error(lambda: client(slack, str(token)).auth_test())
    assert revoked.response["error"] == "token_revoked"
    events = [r.json() for r in receiver.received]
    assert [(e["team_id"], e["event"]["type"]) for e in events] == [
        (OTHER, "tokens_revoked"),
        (OTHER, "app_uninstalled"),
    ]
    assert events[0]["event"]["tokens"]["bot"] == [other.bot_user_id]
    assert all(r.valid_signature for r in receiver.received)
    assert client(slack, TOKEN).auth_test()["team_id"] == TEAM, "the other workspace is fine"

    _, again, _ = authorize(slack, team=OTHER, redirect_uri=REDIRECT)
    reinstalled = client(slack, "").oauth_v2_access(
        client_id=slack.client_id,
        client_secret=slack.client_secret,
        code=again["code"][0],
        redirect_uri=REDIRECT,
    )["access_token"]
    assert reinstalled != token, "a reinstall gets a new token"
    assert client(slack, str(reinstalled)).auth_test()["team_id"] == OTHER
