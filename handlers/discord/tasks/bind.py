"""`/finetune use MODEL` and the **Use in this channel** button: resolve the model (asking
OpenAI whether it exists), bind, and announce it in the channel or thread, since a binding
changes what everyone there gets when they mention the bot. Refusals go only to the asker."""

from __future__ import annotations

from typing import Any

from finetuning.conversations import InvalidSettingsError, ModelRefError, ReplySettings, talk_error
from finetuning.provider import ProviderError
from finetuning.tasks import RetryLaterError
from handlers.discord import calls
from handlers.discord.render.conversation import bound_text, problem_text, unbound_text
from handlers.discord.reply_targets import SILENT
from handlers.discord.talk_deps import TalkDeps
from handlers.discord.tasks.answers import tell

OFF = "off"


def bind_payload(
    *,
    workspace: str,
    channel: str,
    thread: str | None,
    user: str,
    model: str,
    system: str | None,
    temperature: float | None,
    max_tokens: int | None,
    interaction: dict[str, Any] | None,
) -> dict[str, Any]:
    """`thread` set: bind only that thread; `model` "off": unbind."""
    return {
        "workspace": workspace,
        "channel": channel,
        "thread": thread,
        "user": user,
        "model": model,
        "system": system,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "interaction": interaction,
    }


def run_bind(deps: TalkDeps, payload: dict[str, Any]) -> None:
    workspace, channel, user = payload["workspace"], payload["channel"], payload["user"]
    thread = payload.get("thread") or ""
    target = str(payload["model"]).strip()
    if target.lower() == OFF:
        _unbind(deps, payload)
        return
    try:
        settings = ReplySettings(
            system_prompt=payload.get("system") or None,
            temperature=payload.get("temperature"),
            max_tokens=payload.get("max_tokens"),
        )
        model = deps.resolver.resolve_model(workspace, target)
    except InvalidSettingsError as refused:
        tell(deps.base, payload, f"⚠️ {refused}")
        return
    except (ModelRefError, ProviderError) as error:
        problem = talk_error(error, target)
        if problem is None or problem.retryable:
            raise RetryLaterError(str(error)) from error
        tell(deps.base, payload, problem_text(problem))
        return
    binding = deps.bindings.bind(workspace, channel, model, settings, thread_ts=thread, by=user)
    if thread:
        # The thread may already be a conversation: its next reply uses the new model.
        deps.conversations.open(workspace, channel, thread, model, settings, by=user)
    _announce(deps, payload, bound_text(user, binding))
    tell(deps.base, payload, f"✅ Bound to `{model}`.")


def _unbind(deps: TalkDeps, payload: dict[str, Any]) -> None:
    thread = payload.get("thread") or ""
    removed = deps.bindings.unbind(
        payload["workspace"], payload["channel"], thread_ts=thread, by=payload["user"]
    )
    if removed is None:
        place = "this thread" if thread else "this channel"
        tell(deps.base, payload, f"❔ No model is bound to {place}.")
        return
    _announce(deps, payload, unbound_text(payload["user"], removed.model, bool(thread)))
    tell(deps.base, payload, "✅ Unbound.")


def _announce(deps: TalkDeps, payload: dict[str, Any], text: str) -> None:
    where = payload.get("thread") or payload["channel"]
    deps.base.bridge.call(lambda c: calls.send(c, where, content=text, allowed_mentions=SILENT))
