"""Mentions and thread replies that talk to a bound model: acknowledged at once, answered by a
durable task that streams the reply.

A mention arrives twice (an `app_mention` event and a `message` event for the same ts); both
map to one idempotency key, so whichever comes first makes the one task.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import App, BoltContext

from handlers.slack.deps import SlackDeps
from handlers.slack.model_refs import names_a_model
from handlers.slack.tasks import BIND, TALK
from handlers.slack.tasks.bind import bind_payload
from handlers.slack.tasks.talk import talk_payload

_USE = re.compile(r"^use\s+(\S+)(.*)$", re.IGNORECASE | re.DOTALL)


def register(app: App, deps: SlackDeps) -> None:
    @app.event("app_mention")
    def on_mention(event: dict[str, Any], context: BoltContext) -> None:
        if _from_a_bot(event):
            return
        _hand_off(deps, event, context, mentioned=True)

    @app.event("message")
    def on_message(event: dict[str, Any], context: BoltContext) -> None:
        """A reply in a thread that is a conversation continues it, mention or not."""
        if event.get("subtype") or _from_a_bot(event):
            return
        thread_ts = event.get("thread_ts")
        if not thread_ts or thread_ts == event.get("ts"):
            return
        team = _team(event, context)
        if not deps.conversations.is_conversation(team, str(event["channel"]), str(thread_ts)):
            return
        _hand_off(deps, event, context, mentioned=_mentions_app(event, context))


def _hand_off(
    deps: SlackDeps, event: dict[str, Any], context: BoltContext, *, mentioned: bool
) -> None:
    team = _team(event, context)
    channel = str(event["channel"])
    ts = str(event["ts"])
    text = _without_mention(str(event.get("text") or ""), context)
    key = f"talk:{team}:{channel}:{ts}"
    use = _USE.match(text.strip()) if mentioned else None
    target = use.group(1) if use is not None else ""
    if use is not None and (target.lower() == "off" or names_a_model(target, deps.catalog)):
        # `@tunebot use MODEL …` in a thread binds that thread only; at the top, the channel.
        deps.enqueue(
            BIND,
            key,
            bind_payload(
                team=team,
                channel=channel,
                user=str(event.get("user") or ""),
                thread_ts=str(event.get("thread_ts") or ""),
                command=text.strip(),
                bot_user=context.bot_user_id,
            ),
        )
        return
    deps.enqueue(
        TALK,
        key,
        talk_payload(
            team=team,
            channel=channel,
            user=str(event.get("user") or ""),
            ts=ts,
            thread_ts=str(event.get("thread_ts") or ts),
            text=text,
        ),
    )


def _team(event: dict[str, Any], context: BoltContext) -> str:
    return context.team_id or str(event.get("team") or "")


def _from_a_bot(event: dict[str, Any]) -> bool:
    """Other bots (and our own posts) never start or continue a conversation: two bots
    answering each other would loop until a rate limit stopped them."""
    return bool(event.get("bot_id") or event.get("bot_profile"))


def _mentions_app(event: dict[str, Any], context: BoltContext) -> bool:
    return bool(context.bot_user_id) and f"<@{context.bot_user_id}>" in str(event.get("text"))


def _without_mention(text: str, context: BoltContext) -> str:
    if context.bot_user_id:
        text = re.sub(rf"<@{re.escape(context.bot_user_id)}(\|[^>]*)?>", "", text)
    return text.strip()
