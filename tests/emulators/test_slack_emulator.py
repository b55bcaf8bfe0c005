"""The Slack emulator, driven through the real `slack_sdk` (and one real Bolt app) so every shape
it answers is one the SDK parses, and every request it sends is one Slack's verifier accepts."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from tests.emulators.slack_emulator import (
    ALICE,
    BOB,
    GENERAL,
    PRIVATE,
    RANDOM,
    SlackEmulator,
)

TOKEN = "xoxb-test"
SECRET = "test-signing-secret"
TEAM = "T001"


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator(bot_token=TOKEN, signing_secret=SECRET, team_id=TEAM) as emulator:
        yield emulator


@pytest.fixture
def client(slack: SlackEmulator) -> WebClient:
    return WebClient(token=TOKEN, base_url=slack.api_url, timeout=5)


def api_error(call: Callable[[], Any]) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        call()
    return caught.value


def fetch(url: str, token: str | None = None) -> tuple[int, str, bytes]:
    """GET without following redirects: (status, content type, body)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location", ""), error.read()


# -- a tiny app that only receives: what Slack sends, checked with slack_sdk's verifier ---------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    valid_signature: bool

    def json(self) -> Any:
        if self.headers.get("Content-Type", "").startswith("application/json"):
            return json.loads(self.body)
        form = {k: v[0] for k, v in parse_qs(self.body.decode()).items()}
        return json.loads(form["payload"]) if "payload" in form else form


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)  # per request, in arrival order
    reply: bytes = b""


@pytest.fixture
def receiver(slack: SlackEmulator) -> Iterator[Receiver]:
    verifier = SignatureVerifier(SECRET)
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = dict(self.headers.items())
            state.received.append(Received(headers, body, verifier.is_valid_request(body, headers)))
            index = len(state.received) - 1
            if index < len(state.delays):
                time.sleep(state.delays[index])
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(state.reply)))
                self.end_headers()
                self.wfile.write(state.reply)
            except (BrokenPipeError, ConnectionResetError):
                pass  # Slack stopped waiting: that is what the slow-app test is about

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    slack.app_url = state.url
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


# -- Web API -----------------------------------------------------------------------------------


def test_auth_and_unknown_methods_answer_like_slack(slack: SlackEmulator, client: WebClient):
    me = client.auth_test()
    assert (me["team_id"], me["user_id"], me["bot_id"]) == (TEAM, slack.bot_user_id, slack.bot_id)
    wrong = WebClient(token="xoxb-wrong", base_url=slack.api_url)
    assert api_error(wrong.auth_test).response["error"] == "invalid_auth"
    assert api_error(lambda: client.api_call("chat.teleport")).response["error"] == "unknown_method"
    admin = client.users_info(user="U0ADMIN")["user"]
    assert admin["is_admin"] and not admin["is_owner"]
    assert client.users_info(user="U0OWNER")["user"]["is_owner"]
    assert client.conversations_info(channel=GENERAL)["channel"]["is_member"]
    assert api_error(lambda: client.conversations_info(channel=PRIVATE)).response["error"] == (
        "channel_not_found"
    )


def test_post_update_and_thread(slack: SlackEmulator, client: WebClient):
    parent = client.chat_postMessage(channel=GENERAL, text="Dataset report")
    assert parent["message"]["bot_id"] == slack.bot_id
    reply = client.chat_postMessage(
        channel=GENERAL,
        thread_ts=parent["ts"],
        text="fallback",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*12 examples*"}}],
    )
    client.chat_update(channel=GENERAL, ts=reply["ts"], text="fallback v2")
    client.chat_update(
        channel=GENERAL,
        ts=reply["ts"],
        text="fallback v3",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*13 examples*"}}],
    )

    thread = slack.messages(GENERAL, thread_ts=parent["ts"])
    assert [m.ts for m in thread] == [parent["ts"], reply["ts"]]
    edited = thread[1]
    assert edited.text == "fallback v3"
    assert edited.blocks is not None and edited.blocks[0]["text"]["text"] == "*13 examples*"
    assert [e.text for e in edited.edits] == ["fallback", "fallback v2"]
    replies = client.conversations_replies(channel=GENERAL, ts=parent["ts"])["messages"]
    assert [m["ts"] for m in replies] == [parent["ts"], reply["ts"]]
    assert replies[0]["reply_count"] == 1

    client.reactions_add(channel=GENERAL, timestamp=parent["ts"], name="white_check_mark")
    again = api_error(
        lambda: client.reactions_add(
            channel=GENERAL, timestamp=parent["ts"], name="white_check_mark"
        )
    )
    assert again.response["error"] == "already_reacted"
    client.chat_delete(channel=GENERAL, ts=reply["ts"])
    assert [m.ts for m in slack.messages(GENERAL)] == [parent["ts"]]
    gone = api_error(lambda: client.chat_update(channel=GENERAL, ts=reply["ts"], text="x"))
    assert gone.response["error"] == "message_not_found"


def test_post_refusals_match_slack(slack: SlackEmulator, client: WebClient):
    def refusal(**kwargs: Any) -> str:
        return str(api_error(lambda: client.chat_postMessage(**kwargs)).response["error"])

    assert refusal(channel="C0NOPE", text="hi") == "channel_not_found"
    assert refusal(channel=RANDOM, text="hi") == "not_in_channel"
    assert refusal(channel=PRIVATE, text="hi") == "channel_not_found"
    assert refusal(channel=GENERAL, text="x" * 40_001) == "msg_too_long"
    divider = {"type": "divider"}
    assert refusal(channel=GENERAL, text="t", blocks=[divider] * 51) == "invalid_blocks"
    long_section = {"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3_001}}
    error = api_error(
        lambda: client.chat_postMessage(channel=GENERAL, text="t", blocks=[long_section])
    )
    assert "json-pointer:/blocks/0/text/text" in error.response["errors"][0]
    client.chat_postMessage(channel=GENERAL, text="x" * 40_000, blocks=[divider] * 50)

    person_ts = slack.post_as_user(ALICE, GENERAL, "my own words")
    not_ours = api_error(lambda: client.chat_update(channel=GENERAL, ts=person_ts, text="edit"))
    assert not_ours.response["error"] == "cant_update_message"
    dm = client.chat_postMessage(channel=ALICE, text="a DM")
    assert dm["channel"].startswith("D") and slack.messages(ALICE)[0].text == "a DM"


def test_ephemeral_messages(slack: SlackEmulator, client: WebClient):
    slack.add_channel("C0SMALL", "small", members={BOB})
    answer = client.chat_postEphemeral(
        channel=GENERAL, user=ALICE, text="only you", thread_ts="1.2"
    )
    [note] = slack.ephemerals
    assert (note.channel, note.user, note.text, note.message_ts) == (
        GENERAL,
        ALICE,
        "only you",
        answer["message_ts"],
    )
    assert slack.messages(GENERAL) == []
    outsider = api_error(lambda: client.chat_postEphemeral(channel="C0SMALL", user=ALICE, text="x"))
    assert outsider.response["error"] == "user_not_in_channel"


def modal(title: str = "Start a job") -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "start_job",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Start"},
        "blocks": [
            {
                "type": "input",
                "block_id": "model",
                "label": {"type": "plain_text", "text": "Base model"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ],
    }


def test_views_need_a_fresh_single_use_trigger(slack: SlackEmulator, client: WebClient):
    trigger = slack.issue_trigger(ALICE)
    opened = client.views_open(trigger_id=trigger, view=modal())["view"]
    assert opened["callback_id"] == "start_job" and opened["root_view_id"] == opened["id"]
    [stored] = slack.views
    assert (stored.id, stored.user, stored.is_open) == (opened["id"], ALICE, True)

    reused = api_error(lambda: client.views_open(trigger_id=trigger, view=modal()))
    assert reused.response["error"] == "exchanged_trigger_id"
    assert api_error(lambda: client.views_open(trigger_id="nope", view=modal())).response[
        "error"
    ] == ("invalid_trigger_id")
    slack.trigger_ttl = 0.0
    late = api_error(lambda: client.views_open(trigger_id=slack.issue_trigger(BOB), view=modal()))
    assert late.response["error"] == "expired_trigger_id"

    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Step 2"))
    assert updated["view"]["title"]["text"] == "Step 2"
    stale = api_error(
        lambda: client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal())
    )
    assert stale.response["error"] == "hash_conflict"
    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}],
    }
    assert client.views_publish(user_id=ALICE, view=home)["view"]["type"] == "home"


def test_files_upload_v2_into_a_thread(slack: SlackEmulator, client: WebClient):
    parent = client.chat_postMessage(channel=GENERAL, text="Training finished")
    chart = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    result = client.files_upload_v2(
        channel=GENERAL,
        thread_ts=parent["ts"],
        content=chart,
        filename="loss.png",
        title="Loss curve",
        initial_comment="Here is the loss curve",
    )
    file_id = result["file"]["id"]
    [uploaded] = slack.uploaded_files
    assert (uploaded.id, uploaded.title, uploaded.content) == (file_id, "Loss curve", chart)

    thread = slack.messages(GENERAL, thread_ts=parent["ts"])
    share = thread[-1]
    assert (share.subtype, share.text, share.files) == (
        "file_share",
        "Here is the loss curve",
        [file_id],
    )
    info = client.files_info(file=file_id)["file"]
    assert info["shares"]["public"][GENERAL][0]["thread_ts"] == parent["ts"]
    assert info["url_private_download"].startswith(f"http://{slack.file_host}/files-pri/{TEAM}-")
    assert fetch(info["url_private_download"], TOKEN)[2] == chart

    legacy = api_error(lambda: client.api_call("files.upload", data={"channels": GENERAL}))
    assert legacy.response["error"] == "method_deprecated"
    assert api_error(lambda: client.files_info(file="F0MISSING")).response["error"] == (
        "file_not_found"
    )


def test_file_downloads_need_the_bot_token(slack: SlackEmulator):
    shared = slack.share_file(ALICE, GENERAL, "train.jsonl", b'{"messages": []}\n')
    url = shared["url_private_download"]
    assert fetch(url, TOKEN) == (200, "text/plain", b'{"messages": []}\n')
    for token in (None, "xoxb-wrong"):
        status, content_type, body = fetch(url, token)
        assert (status, content_type) == (200, "text/html") and b"Sign in" in body
    assert [d["authorized"] for d in slack.downloads] == [True, False, False]

    moved = slack.share_file(ALICE, GENERAL, "moved.jsonl", b"{}", download="redirect")
    status, location, _ = fetch(moved["url_private_download"], TOKEN)
    assert status == 302 and location.startswith(f"http://{slack.foreign_host}/")
    assert slack.foreign_host != slack.file_host and slack.foreign_requests == []
    login = slack.share_file(ALICE, GENERAL, "scopeless.jsonl", b"{}", download="html")
    assert fetch(login["url_private_download"], TOKEN)[1] == "text/html"


def test_chat_stream_where_supported_and_refused_where_not(slack: SlackEmulator, client: WebClient):
    parent = slack.post_as_user(ALICE, GENERAL, "explain the loss curve")
    streamer = client.chat_stream(
        channel=GENERAL,
        thread_ts=parent,
        recipient_team_id=TEAM,
        recipient_user_id=ALICE,
        buffer_size=8,
    )
    for piece in ["The loss ", "falls ", "steadily ", "after step 40."]:
        streamer.append(markdown_text=piece)
    final = streamer.stop(
        blocks=[{"type": "context", "elements": [{"type": "mrkdwn", "text": "ft:gpt"}]}]
    )
    assert final["ts"] == streamer.ts
    [_, streamed] = slack.messages(GENERAL, thread_ts=parent)
    assert streamed.text == "The loss falls steadily after step 40."
    assert streamed.stream_state == "stopped" and streamed.blocks is not None
    methods = [c.method for c in slack.calls if c.method.endswith("Stream")]
    assert methods[0] == "chat.startStream" and methods[-1] == "chat.stopStream"
    over = api_error(
        lambda: client.chat_appendStream(channel=GENERAL, ts=streamed.ts, markdown_text="x")
    )
    assert over.response["error"] == "message_not_in_streaming_state"
    no_recipient = api_error(lambda: client.chat_startStream(channel=GENERAL, thread_ts=parent))
    assert no_recipient.response["error"] == "missing_recipient_team_id"

    slack.disable_streaming()
    refused = client.chat_stream(
        channel=GENERAL, thread_ts=parent, recipient_team_id=TEAM, recipient_user_id=ALICE
    )
    assert api_error(lambda: refused.append(markdown_text="x" * 300)).response["error"] == (
        "not_allowed_token_type"
    )


def test_rate_limits_and_injected_errors(slack: SlackEmulator, client: WebClient):
    ts = client.chat_postMessage(channel=GENERAL, text="0")["ts"]
    slack.rate_limit("chat.update", per_minute=2)
    client.chat_update(channel=GENERAL, ts=ts, text="1")
    client.chat_update(channel=GENERAL, ts=ts, text="2")
    limited = api_error(lambda: client.chat_update(channel=GENERAL, ts=ts, text="3"))
    assert limited.response.status_code == 429
    assert limited.response["error"] == "ratelimited"
    assert 1 <= int(limited.response.headers["Retry-After"]) <= 60
    assert slack.messages(GENERAL)[0].text == "2"

    slack.inject("chat.postMessage", error="fatal_error", count=2, status=500)
    for _ in range(2):
        assert api_error(lambda: client.chat_postMessage(channel=GENERAL, text="x")).response[
            "error"
        ] == ("fatal_error")
    client.chat_postMessage(channel=GENERAL, text="recovered")
    outcomes = [(c.status, c.error) for c in slack.calls_to("chat.postMessage")]
    assert outcomes[-3:] == [(500, "fatal_error"), (500, "fatal_error"), (200, None)]

    slack.inject("chat.postMessage", error="fatal_error", count=5)
    slack.clear_faults()
    client.chat_postMessage(channel=GENERAL, text="healthy again")
    client.chat_update(channel=GENERAL, ts=ts, text="4")


def test_a_late_answer_comes_after_the_message_is_there_for_people(
    slack: SlackEmulator, client: WebClient
):
    """`late`: the call takes effect at once; only its answer to the app waits."""
    slack.inject("chat.postMessage", late=0.5)
    answered: list[str] = []
    poster = threading.Thread(
        target=lambda: answered.append(client.chat_postMessage(channel=GENERAL, text="hi")["ts"])
    )
    poster.start()
    shown = slack.wait_for(lambda: slack.messages(GENERAL), timeout=0.4)
    assert [m.text for m in shown] == ["hi"] and not answered, "visible before the app knows"
    poster.join()
    assert answered == [shown[0].ts]
    started = time.monotonic()
    client.chat_postMessage(channel=GENERAL, text="on time")
    assert time.monotonic() - started < 0.4, "only the next call answers late"


def test_concurrent_posts_get_unique_ordered_timestamps(slack: SlackEmulator):
    def post_many() -> None:
        local = WebClient(token=TOKEN, base_url=slack.api_url)
        for n in range(15):
            local.chat_postMessage(channel=GENERAL, text=str(n))

    workers = [threading.Thread(target=post_many) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    stamps = [m.ts for m in slack.messages(GENERAL)]
    assert len(stamps) == len(set(stamps)) == 90 and stamps == sorted(stamps, key=float)
    with pytest.raises(TimeoutError):
        slack.wait_for(lambda: len(slack.messages(GENERAL)) > 90, timeout=0.1)


# -- toward the app ----------------------------------------------------------------------------


def test_events_are_signed_like_slack(slack: SlackEmulator, receiver: Receiver):
    ts = slack.mention(ALICE, GENERAL, "validate my dataset")
    mention, message = receiver.received
    assert mention.valid_signature and message.valid_signature
    assert not SignatureVerifier("another-secret").is_valid_request(mention.body, mention.headers)
    event = mention.json()["event"]
    assert (event["type"], event["user"], event["ts"]) == ("app_mention", ALICE, ts)
    assert event["text"].startswith(f"<@{slack.bot_user_id}>")
    assert message.json()["event"]["type"] == "message"
    assert mention.json()["event_id"] != message.json()["event_id"]
    assert "X-Slack-Retry-Num" not in mention.headers

    slack.post_as_user(BOB, RANDOM, "the app is not in here")
    assert len(receiver.received) == 2


def test_file_share_events_full_and_partial(slack: SlackEmulator, receiver: Receiver):
    full = slack.share_file(ALICE, GENERAL, "train.jsonl", b"{}\n")
    event = receiver.received[0].json()["event"]
    assert (event["subtype"], event["files"][0]["url_private_download"]) == (
        "file_share",
        full["url_private_download"],
    )
    partial = slack.share_file(ALICE, GENERAL, "more.jsonl", b"{}\n", partial=True)
    files = [r.json()["event"] for r in receiver.received if r.json()["event"]["type"] == "message"]
    assert files[-1]["files"] == [
        {"id": partial["id"], "mode": "file_access", "file_access": "check_file_info"}
    ]


def test_slash_command_and_its_response_url(slack: SlackEmulator, receiver: Receiver):
    receiver.reply = json.dumps({"response_type": "ephemeral", "text": "Working on it"}).encode()
    status, body = slack.slash_command(ALICE, GENERAL, "status")
    assert status == 200 and json.loads(body)["text"] == "Working on it"
    form = receiver.received[0].json()
    assert (form["command"], form["text"], form["user_id"]) == ("/finetune", "status", ALICE)
    assert receiver.received[0].valid_signature and form["trigger_id"]

    webhook = WebhookClient(form["response_url"])
    assert webhook.send(text="All jobs are done", response_type="in_channel").status_code == 200
    assert webhook.send(text="Just for you").status_code == 200
    outcomes = [p.outcome for p in slack.response_posts]
    assert outcomes == ["ephemeral", "in_channel", "ephemeral"]
    assert slack.messages(GENERAL)[-1].text == "All jobs are done"
    assert [e.text for e in slack.ephemerals] == ["Working on it", "Just for you"]


def test_button_click_and_view_submission(
    slack: SlackEmulator, client: WebClient, receiver: Receiver
):
    button = {
        "type": "actions",
        "block_id": "job",
        "elements": [
            {
                "type": "button",
                "action_id": "start_job",
                "value": "ds-1",
                "text": {"type": "plain_text", "text": "Start"},
            }
        ],
    }
    posted = client.chat_postMessage(channel=GENERAL, text="Ready", blocks=[button])
    assert slack.click_button(ALICE, GENERAL, posted["ts"], "start_job")[0] == 200
    payload = receiver.received[0].json()
    assert payload["type"] == "block_actions" and payload["actions"][0]["value"] == "ds-1"
    assert (
        payload["message"]["ts"] == posted["ts"] and payload["container"]["channel_id"] == GENERAL
    )
    with pytest.raises(LookupError):
        slack.click_button(ALICE, GENERAL, posted["ts"], "no_such_button")

    view = client.views_open(trigger_id=payload["trigger_id"], view=modal())["view"]
    WebhookClient(payload["response_url"]).send(text="Starting…", replace_original=True)
    assert slack.messages(GENERAL)[0].text == "Starting…"

    receiver.reply = json.dumps(
        {"response_action": "errors", "errors": {"model": "Unknown"}}
    ).encode()
    values = {"model": {"value": {"type": "plain_text_input", "value": "gpt-9"}}}
    slack.submit_view(ALICE, view["id"], values)
    submitted = receiver.received[-1].json()
    assert submitted["type"] == "view_submission"
    assert submitted["view"]["state"]["values"] == values
    assert slack.view(view["id"]).errors == {"model": "Unknown"}
    receiver.reply = b""
    slack.submit_view(ALICE, view["id"], values)
    assert not slack.view(view["id"]).is_open


def test_an_update_by_external_id_lands_only_once_the_submission_answer_named_it(
    slack: SlackEmulator, client: WebClient, receiver: Receiver
):
    view = client.views_open(trigger_id=slack.issue_trigger(ALICE), view=modal())["view"]
    checking = {**modal("Checking"), "external_id": "check-1"}
    receiver.reply = json.dumps({"response_action": "update", "view": checking}).encode()
    done = modal("Done")

    early = api_error(lambda: client.views_update(external_id="check-1", view=done))
    slack.submit_view(ALICE, view["id"], {})
    shown = slack.view(view["id"])
    updated = client.views_update(external_id="check-1", view=done)["view"]

    assert early.response["error"] == "not_found"
    assert (shown.payload["title"]["text"], shown.external_id) == ("Checking", "check-1")
    assert shown.hash != view["hash"]
    assert (updated["id"], updated["title"]["text"]) == (view["id"], "Done")


def test_a_closed_modal_cannot_be_updated(slack: SlackEmulator, client: WebClient):
    view = client.views_open(trigger_id=slack.issue_trigger(ALICE), view=modal())["view"]

    slack.close_view(ALICE, view["id"])

    assert not slack.view(view["id"]).is_open
    gone = api_error(lambda: client.views_update(view_id=view["id"], view=modal()))
    assert gone.response["error"] == "not_found"
    with pytest.raises(LookupError):
        slack.close_view(ALICE, view["id"])


def test_app_sees_its_own_posts_and_edits_when_echo_is_on(
    slack: SlackEmulator, client: WebClient, receiver: Receiver
):
    slack.echo_app_events = True
    ts = client.chat_postMessage(channel=GENERAL, text="v1")["ts"]
    client.chat_update(channel=GENERAL, ts=ts, text="v2")
    slack.wait_for(lambda: len(receiver.received) >= 2)
    posted, changed = [r.json()["event"] for r in receiver.received]
    assert (posted["bot_id"], posted["user"]) == (slack.bot_id, slack.bot_user_id)
    assert changed["subtype"] == "message_changed"
    assert (changed["message"]["text"], changed["previous_message"]["text"]) == ("v2", "v1")


def test_slow_app_gets_retries(receiver: Receiver):
    with SlackEmulator(bot_token=TOKEN, signing_secret=SECRET, app_timeout=0.2) as slack:
        slack.app_url = receiver.url
        slack.subscriptions = {"app_mention"}
        receiver.delays = [0.5, 0.5]
        slack.mention(ALICE, GENERAL, "hello")
        first, _, last = slack.deliveries
        assert [d.failure for d in slack.deliveries] == ["http_timeout", "http_timeout", None]
        assert first.latency >= 0.2 and last.latency < 0.2 and last.status == 200
        arrivals = slack.wait_for(
            lambda: receiver.received if len(receiver.received) == 3 else None
        )
        assert [r.headers.get("X-Slack-Retry-Num") for r in arrivals] == [None, "1", "2"]
        assert arrivals[1].headers["X-Slack-Retry-Reason"] == "http_timeout"
        assert all(r.valid_signature for r in arrivals)
        assert len({r.json()["event_id"] for r in arrivals}) == 1


def test_a_real_bolt_app_replies_in_the_thread(slack: SlackEmulator):
    """The shape check that matters most: Bolt verifies, authorizes and answers through it."""
    app = App(
        client=WebClient(token=TOKEN, base_url=slack.api_url),
        signing_secret=SECRET,
        process_before_response=True,
    )

    @app.event("app_mention")
    def on_mention(event: dict[str, Any], say: Callable[..., Any]) -> None:
        say(text=f"got: {event['text'].split('> ', 1)[1]}", thread_ts=event["ts"])

    @app.event("message")
    def on_message() -> None:
        pass

    class BoltHandler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            headers = {k: [v] for k, v in self.headers.items()}
            response = app.dispatch(BoltRequest(body=body, headers=headers))
            self.send_response(response.status)
            self.send_header("Content-Length", str(len(response.body.encode())))
            self.end_headers()
            self.wfile.write(response.body.encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), BoltHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        slack.app_url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
        ts = slack.mention(ALICE, GENERAL, "ping")
        reply = slack.wait_for(lambda: slack.messages(GENERAL, thread_ts=ts)[1:])
        assert reply[0].text == "got: ping" and reply[0].bot_id == slack.bot_id
        assert all(d.status == 200 for d in slack.deliveries)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
