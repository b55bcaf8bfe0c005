"""The workspace acting toward the app: people post, mention, share files, run commands, click.

Each action first changes the workspace (the message exists before the event about it, as on
Slack), then delivers the signed request to the app's request URL and waits for its answer.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from tests.emulators.slack.api_files import store_user_file
from tests.emulators.slack.api_views import create_view, replace_view
from tests.emulators.slack.delivery import AppDeliverer
from tests.emulators.slack.payloads import (
    action_body,
    app_mention_event,
    block_actions_payload,
    event_envelope,
    find_action,
    rich_text,
    slash_command_form,
    user_message_event,
    view_submission_payload,
)
from tests.emulators.slack.records import Delivery, JsonDict, Message
from tests.emulators.slack.response_urls import apply_response, new_target, target_url
from tests.emulators.slack.workspace import Workspace

FORM = "application/x-www-form-urlencoded"
DEFAULT_SUBSCRIPTIONS = frozenset({"app_mention", "message", "app_uninstalled", "tokens_revoked"})


def _answer(attempts: list[Delivery]) -> tuple[int, str]:
    last = attempts[-1]
    return (last.status or 0), last.response_body


def _json_or_empty(text: str) -> JsonDict:
    try:
        decoded = json.loads(text) if text.strip() else {}
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


class WorkspaceActor:
    """Slack's side of the conversation with the app under test."""

    def __init__(self, workspace: Workspace, deliverer: AppDeliverer) -> None:
        self._ws = workspace
        self._deliverer = deliverer
        self.subscriptions: set[str] = set(DEFAULT_SUBSCRIPTIONS)

    @property
    def app_url(self) -> str | None:
        """The app's request URL: events, commands and interactions all go there."""
        return self._deliverer.app_url

    @app_url.setter
    def app_url(self, url: str | None) -> None:
        self._deliverer.app_url = url

    # -- events ------------------------------------------------------------------------------

    def deliver_event(self, event: JsonDict) -> list[Delivery]:
        """Send one event_callback (with Slack's retries) if the app subscribes to its type.

        Without an `app_url` nothing is sent: the workspace still changes, no app hears of it.
        """
        if event.get("type") not in self.subscriptions or not self.app_url:
            return []
        envelope = event_envelope(self._ws, event)
        body = json.dumps(envelope).encode()
        return self._deliverer.send(
            kind="event",
            key=envelope["event_id"],
            body=body,
            content_type="application/json",
            retry=True,
        )

    def verify_url(self) -> tuple[int, str]:
        """The url_verification handshake Slack runs when a request URL is saved."""
        body = json.dumps(
            {"token": "x", "challenge": "emulator-challenge", "type": "url_verification"}
        )
        attempts = self._deliverer.send(
            kind="url_verification",
            key="challenge",
            body=body.encode(),
            content_type="application/json",
            retry=False,
        )
        return _answer(attempts)

    def _user_message(
        self, user: str, channel: str, text: str, thread_ts: str | None
    ) -> tuple[Message, bool]:
        ws = self._ws
        with ws.lock:
            ws.user(user)
            target = ws.resolve_channel(channel)
            message = Message(
                channel=target.id,
                ts=ws.next_ts(),
                text=text,
                blocks=rich_text(text),
                thread_ts=ws.thread_root(target.id, thread_ts),
                user=user,
            )
            ws.add_message(message)
            return message, target.bot_member

    def post_as_user(self, user: str, channel: str, text: str, thread_ts: str | None = None) -> str:
        """A person writes in a channel, DM (pass a user id or D-id) or thread; returns its ts.

        As on Slack, no event reaches the app from a channel it is not a member of.
        """
        message, app_hears = self._user_message(user, channel, text, thread_ts)
        if app_hears:
            with self._ws.lock:
                event = user_message_event(self._ws, message)
            self.deliver_event(event)
        return message.ts

    def mention(self, user: str, channel: str, text: str, thread_ts: str | None = None) -> str:
        """A person @-mentions the app: an `app_mention` event, then the `message` event."""
        mention = f"<@{self._ws.bot_user_id}>"
        full_text = text if mention in text else f"{mention} {text}"
        message, app_hears = self._user_message(user, channel, full_text, thread_ts)
        if app_hears:
            with self._ws.lock:
                events = [
                    app_mention_event(self._ws, message),
                    user_message_event(self._ws, message),
                ]
            for event in events:
                self.deliver_event(event)
        return message.ts

    def share_file(
        self,
        user: str,
        channel: str,
        name: str,
        content: bytes,
        *,
        text: str = "",
        thread_ts: str | None = None,
        partial: bool = False,
        download: str = "ok",
        mimetype: str | None = None,
    ) -> JsonDict:
        """A person uploads a file into a channel; returns the full file object.

        `partial=True` puts only `{"id", "mode": "file_access", ...}` in the event, as Slack
        sometimes does, so the app has to call files.info. `download="redirect"` makes the
        file's URL redirect to another host; `download="html"` makes it answer a login page.
        """
        ws = self._ws
        stored, message = store_user_file(
            ws,
            user=user,
            channel_id=channel,
            name=name,
            content=content,
            text=text,
            thread_ts=thread_ts,
            mimetype=mimetype,
            download=download,
        )
        with ws.lock:
            full = ws.render_file(stored)
            event = user_message_event(ws, message)
            event["files"] = [stored.partial() if partial else full]
            app_hears = ws.channels[message.channel].bot_member
            shared: JsonDict = {
                "type": "file_shared",
                "file_id": stored.id,
                "user_id": user,
                "file": {"id": stored.id},
                "channel_id": message.channel,
                "event_ts": message.ts,
            }
        if app_hears:
            self.deliver_event(event)
            self.deliver_event(shared)
        return full

    # -- commands and interactions -----------------------------------------------------------

    def slash_command(
        self, user: str, channel: str, text: str, command: str = "/finetune"
    ) -> tuple[int, str]:
        """A person runs a slash command; returns the app's (HTTP status, body); 0 = no answer.

        An immediate JSON answer (`ack(text=...)`) is shown like a response_url post.
        """
        ws = self._ws
        with ws.lock:
            ws.user(user)
            target = new_target(ws, kind="command", channel=channel, user=user)
            form = slash_command_form(
                ws,
                user=user,
                channel=channel,
                command=command,
                text=text,
                response_url=target_url(ws, target),
                trigger_id=ws.issue_trigger(user),
            )
        attempts = self._deliverer.send(
            kind="command",
            key=f"{command} {text}",
            body=urlencode(form).encode(),
            content_type=FORM,
            retry=False,
        )
        status, body = _answer(attempts)
        inline = _json_or_empty(body) if status == 200 else {}
        if inline.get("text") or inline.get("blocks"):
            with ws.lock:
                apply_response(ws, target, inline)
        return status, body

    def _send_interaction(self, payload: JsonDict) -> tuple[int, str]:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        attempts = self._deliverer.send(
            kind="interaction", key=str(payload["type"]), body=body, content_type=FORM, retry=False
        )
        return _answer(attempts)

    def click_button(
        self, user: str, channel: str, message_ts: str, action_id: str, value: str | None = None
    ) -> tuple[int, str]:
        """A person clicks an element of a message (or ephemeral) the app posted.

        Raises LookupError when no such element is on that message: a person could not click it.
        """
        ws = self._ws
        with ws.lock:
            channel_id = ws.resolve_channel(channel).id
            message = ws.find_message(channel_id, message_ts)
            ephemeral = next(
                (e for e in ws.ephemerals if e.message_ts == message_ts and e.user == user), None
            )
            if message is None and ephemeral is None:
                raise LookupError(f"no message {message_ts} in {channel_id} visible to {user}")
            blocks = (
                message.blocks if message is not None else ephemeral.blocks if ephemeral else None
            )
            found = find_action(blocks, action_id)
            if found is None:
                raise LookupError(
                    f"no element with action_id {action_id!r} on message {message_ts}"
                )
            target = new_target(
                ws,
                kind="block_actions",
                channel=channel_id,
                user=user,
                message_ts=message_ts,
                ephemeral=message is None,
            )
            payload = block_actions_payload(
                ws,
                user=user,
                channel=channel_id,
                action=action_body(found[1], found[0], value),
                trigger_id=ws.issue_trigger(user),
                response_url=target_url(ws, target),
                message=message,
                ephemeral=ephemeral if message is None else None,
            )
        return self._send_interaction(payload)

    def submit_view(
        self, user: str, view_id: str, values: dict[str, Any], *, answer_applied_after: float = 0.0
    ) -> tuple[int, str]:
        """A person submits an open modal with `values` as Slack's `state.values` mapping
        (`{block_id: {action_id: {"type": ..., "value": ...}}}`); the app's response_action
        (errors / update / push / clear / nothing) is applied to the view stack.

        Slack applies the answer only once it has read it, so Web API calls the app makes
        meanwhile (from a task it started while answering) meet the view as it was.
        `answer_applied_after` widens that window to make it testable."""
        ws = self._ws
        with ws.lock:
            view = ws.views.get(view_id)
            if view is None or not view.is_open or view.user != user:
                raise LookupError(f"view {view_id} is not open for {user}")
            view.state_values = json.loads(json.dumps(values))
            payload = view_submission_payload(
                ws, user=user, view=view, trigger_id=ws.issue_trigger(user)
            )
        status, body = self._send_interaction(payload)
        if status == 200:
            time.sleep(answer_applied_after)
            with ws.lock:
                self._apply_view_response(user, view_id, _json_or_empty(body))
        return status, body

    def close_view(self, user: str, view_id: str) -> None:
        """A person closes a modal with its Close button (or Esc): the whole stack goes. The
        app hears of it only if the view asked for `notify_on_close`, which tunebot's do not."""
        ws = self._ws
        with ws.lock:
            view = ws.views.get(view_id)
            if view is None or not view.is_open or view.user != user:
                raise LookupError(f"view {view_id} is not open for {user}")
            if view.payload.get("notify_on_close"):
                raise NotImplementedError("view_closed is not emulated")
            self._close_stack(user)
            view.is_open = False
            ws.notify()

    def _close_stack(self, user: str) -> None:
        stack = self._ws.modal_stacks.setdefault(user, [])
        for open_id in stack:
            self._ws.views[open_id].is_open = False
        stack.clear()

    def _apply_view_response(self, user: str, view_id: str, answer: JsonDict) -> None:
        ws = self._ws
        view = ws.views[view_id]
        stack = ws.modal_stacks.setdefault(user, [])
        action = answer.get("response_action")
        if action == "errors":
            view.errors = dict(answer.get("errors") or {})
        elif action == "update" and isinstance(answer.get("view"), dict):
            replace_view(ws, view, answer["view"], None)
        elif action == "push" and isinstance(answer.get("view"), dict):
            pushed = create_view(ws, user, answer["view"], stack[0] if stack else view_id, view_id)
            stack.append(pushed.id)
        elif action == "clear":
            self._close_stack(user)
        else:
            view.is_open = False
            if view_id in stack:
                stack.remove(view_id)
        ws.notify()
