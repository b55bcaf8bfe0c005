"""`/finetune use MODEL`, `@tunebot use MODEL` in a thread, and the **Use in this channel**
button: resolve the model (asking OpenAI whether it exists), then bind and say so publicly, since
a binding changes what everyone in the channel or thread gets when they mention the bot."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError

from finetuning.conversations import (
    Binding,
    InvalidSettingsError,
    ModelRefError,
    ReplySettings,
    talk_error,
)
from finetuning.provider import ProviderError
from finetuning.tasks import RetryLaterError
from handlers.slack.blocks.conversation import binding_summary, problem_text
from handlers.slack.blocks.text import code, escape_mrkdwn, mention
from handlers.slack.command_parser import CommandError, parse_command
from handlers.slack.deps import SlackDeps
from handlers.slack.tasks.command import respond_privately
from handlers.slack.tasks.slack_calls import slack_transient_as_retry


def bind_payload(
    *,
    team: str,
    channel: str,
    user: str,
    thread_ts: str,
    command: str,
    bot_user: str | None,
    response_url: str | None = None,
) -> dict[str, Any]:
    """`command` is the text after the slash command or the mention (`use MODEL …`);
    `thread_ts` "" binds the whole channel."""
    return {
        "team": team,
        "channel": channel,
        "user": user,
        "thread_ts": thread_ts,
        "command": command,
        "bot_user": bot_user,
        "response_url": response_url,
    }


def run_bind(deps: SlackDeps, payload: dict[str, Any]) -> None:
    team, channel, thread_ts = payload["team"], payload["channel"], payload["thread_ts"]
    try:
        parsed = parse_command(payload["command"])
        if parsed.name != "use" or not parsed.arguments:
            raise CommandError("usage: `use MODEL [system=…] [temperature=T] [max_tokens=N]`")
        target = parsed.arguments[0]
        if target.lower() == "off":
            _unbind(deps, payload)
            return
        settings = ReplySettings(
            system_prompt=parsed.options.get("system"),
            temperature=_number(parsed.options.get("temperature")),
            max_tokens=parsed.integer("max_tokens"),
        )
        model = deps.resolver.resolve_model(team, target)
    except (CommandError, InvalidSettingsError) as refused:
        _refuse(deps, payload, f":warning: {escape_mrkdwn(str(refused))}")
        return
    except (ModelRefError, ProviderError) as error:
        problem = talk_error(error, payload["command"])
        if problem is None or problem.retryable:
            raise RetryLaterError(str(error)) from error
        _refuse(deps, payload, problem_text(problem))
        return
    binding = deps.bindings.bind(
        team, channel, model, settings, thread_ts=thread_ts, by=payload["user"]
    )
    if thread_ts:
        # The thread may already be a conversation: its next reply uses the new model.
        deps.conversations.open(team, channel, thread_ts, model, settings, by=payload["user"])
    _announce(deps, payload, binding)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        raise InvalidSettingsError(f"temperature must be a number, not {value!r}") from None


def _announce(deps: SlackDeps, payload: dict[str, Any], binding: Binding) -> None:
    place = "this thread" if binding.thread_ts else "this channel"
    me = mention(payload["bot_user"]) if payload.get("bot_user") else "me"
    how = (
        "Reply here to talk to it."
        if binding.thread_ts
        else f"Mention {me} to talk to it; each mention starts a thread."
    )
    text = (
        f":link: {mention(payload['user'])} bound {place} to {code(binding.model)}. {how}\n"
        f"{binding_summary(binding)}"
    )
    _post(deps, payload, text)


def _unbind(deps: SlackDeps, payload: dict[str, Any]) -> None:
    removed = deps.bindings.unbind(
        payload["team"], payload["channel"], thread_ts=payload["thread_ts"], by=payload["user"]
    )
    place = "this thread" if payload["thread_ts"] else "this channel"
    if removed is None:
        _refuse(deps, payload, f":grey_question: No model is bound to {place}.")
        return
    _post(
        deps,
        payload,
        f":broken_chain: {mention(payload['user'])} unbound {code(removed.model)} from {place}.",
    )


def _post(deps: SlackDeps, payload: dict[str, Any], text: str) -> None:
    with slack_transient_as_retry():
        deps.clients.for_team(payload["team"]).chat_postMessage(
            channel=payload["channel"],
            thread_ts=payload["thread_ts"] or None,
            text=text,
            unfurl_links=False,
        )


def _refuse(deps: SlackDeps, payload: dict[str, Any], text: str) -> None:
    """Only the person who asked sees why it did not work; `text` is mrkdwn already."""
    with slack_transient_as_retry():
        try:
            respond_privately(deps, payload, text)
        except SlackApiError as error:
            if error.response.get("error") != "user_not_in_channel":
                raise
