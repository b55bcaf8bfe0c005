"""A model's reply to a conversation or a one-off question, streamed, with one kind of error.

A chat front end iterates the reply to show the words as they come, then reads `result` to
store the turn and its cost. Whatever goes wrong (a deleted model, no quota, a thread too long,
a connection lost mid-reply) comes out as a `TalkError` whose message and hint can be shown as
they are, so every front end says the same thing about the same problem.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from finetuning.conversations.errors import (
    ContextTooLongError,
    ModelNotFoundError,
    ModelNotReadyError,
)
from finetuning.conversations.profile import ModelProfile, ModelProfiles
from finetuning.conversations.prompt import (
    ChatPrompt,
    EmptyConversationError,
    Question,
    Said,
    chat_prompt,
    completion_prompt,
)
from finetuning.conversations.resolve import ModelResolver
from finetuning.conversations.settings import ReplySettings
from finetuning.conversations.store import Conversation
from finetuning.credentials import Accounts
from finetuning.datasets.models import UnknownModelError
from finetuning.provider import ChatProvider, ProviderError, ReplyStream, Usage
from finetuning.provider.errors import HINT_QUOTA, HINT_SERVICE

CLASSIFIER_ALTERNATIVES = 5
"""Top tokens asked for when classifying: the legacy endpoint's maximum."""

HINT_REBIND = "Bind another model with `/finetune use MODEL`; `/finetune models` lists yours."
HINT_WAIT = "Wait for the job to succeed: `/finetune status {job}` shows where it is."
HINT_SHORTER = "Start a new thread, or send a shorter message."
HINT_RETRY_SOON = "OpenAI is rate-limiting requests right now: try again in a minute."
HINT_ASK_AGAIN = "Ask again in a moment; if it keeps failing, OpenAI may be having trouble."


_STATED_WINDOW = re.compile(r"maximum context length is (\d+) tokens")


def stated_window(error: ProviderError) -> int | None:
    """The context window an over-long request was refused with, as the API words it."""
    if error.code != "context_length_exceeded":
        return None
    found = _STATED_WINDOW.search(error.message)
    return int(found.group(1)) if found else None


class TalkProblem(StrEnum):
    """Why a reply could not be given, for front ends that react differently to each."""

    MODEL_GONE = "model_gone"
    NOT_READY = "not_ready"
    UNKNOWN_MODEL = "unknown_model"
    QUOTA = "quota"
    RATE_LIMITED = "rate_limited"
    CONTEXT_TOO_LONG = "context_too_long"
    CONNECTION = "connection"
    NOTHING_TO_ANSWER = "nothing_to_answer"
    REFUSED = "refused"


class TalkError(Exception):
    """A reply that could not be given: a sentence and a hint to show as they are.

    `retryable` says whether asking again unchanged may work; `partial` holds what the model
    had said before the connection broke, if anything.
    """

    def __init__(
        self,
        message: str,
        hint: str,
        *,
        problem: TalkProblem,
        retryable: bool = False,
        partial: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.problem = problem
        self.retryable = retryable
        self.partial = partial

    def __str__(self) -> str:
        return f"{self.message} {self.hint}"


@dataclass(frozen=True)
class Classification:
    """A one-token classifier's answer: its label and the probability of each label it
    considered, likeliest first (labels outside the top tokens are not listed)."""

    label: str
    probabilities: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class TalkResult:
    """A finished reply. `dropped_turns` counts older turns left out to fit the window."""

    model: str
    text: str
    finish_reason: str
    usage: Usage | None
    dropped_turns: int = 0
    classification: Classification | None = None


class TalkStream(Iterator[str]):
    """Text deltas of a reply, then `result`. Iteration raises only TalkError (bugs aside);
    nothing is asked of OpenAI before the first `next`."""

    def __init__(self, deltas: Generator[str, None, TalkResult]) -> None:
        self._deltas = deltas
        self._said: list[str] = []
        self._result: TalkResult | None = None

    def __iter__(self) -> TalkStream:
        return self

    def __next__(self) -> str:
        try:
            delta = next(self._deltas)
        except StopIteration as end:
            if self._result is None:  # a second `next` after the end carries no value
                self._result = end.value
            raise StopIteration from None
        except TalkError as error:
            error.partial = "".join(self._said)
            raise
        self._said.append(delta)
        return delta

    def close(self) -> None:
        """Stop early (the person left, the message was deleted): frees the connection."""
        self._deltas.close()

    @property
    def result(self) -> TalkResult:
        if self._result is None:
            raise RuntimeError("the reply has not been read to its end yet")
        return self._result


class Talk:
    """Replies from models: to a conversation, or to a one-off question."""

    def __init__(
        self, accounts: Accounts, profiles: ModelProfiles, resolver: ModelResolver | None = None
    ) -> None:
        self._accounts = accounts
        self._profiles = profiles
        self._resolver = resolver

    def answer(self, conversation: Conversation, history: Sequence[Said]) -> TalkStream:
        """The conversation's model answering the last message of `history`."""
        return self.reply(
            conversation.workspace_id, conversation.model, conversation.settings, history
        )

    def reply(
        self, workspace_id: str, model: str, settings: ReplySettings, history: Sequence[Said]
    ) -> TalkStream:
        """`model` (an id, as resolved) answering the last person's message of `history`."""
        return TalkStream(self._reply(workspace_id, model, settings, history, resolve=False))

    def ask(
        self, workspace_id: str, ref: str, question: str, settings: ReplySettings | None = None
    ) -> TalkStream:
        """A one-off question to whatever `ref` names (model id, base model, or job); for
        `ask` and each side of `compare`. Nothing is stored."""
        history = [Question(question)]
        return TalkStream(
            self._reply(workspace_id, ref, settings or ReplySettings(), history, resolve=True)
        )

    def _reply(
        self,
        workspace_id: str,
        model: str,
        settings: ReplySettings,
        history: Sequence[Said],
        *,
        resolve: bool,
    ) -> Generator[str, None, TalkResult]:
        try:
            if resolve:
                if self._resolver is None:
                    raise RuntimeError("Talk was built without a ModelResolver; use reply()")
                model = self._resolver.resolve_model(workspace_id, model)
            profile = self._profiles.profile(workspace_id, model)
            chat = self._accounts.for_workspace(workspace_id).chat
            return (yield from self._talk(chat, profile, settings, history))
        except Exception as exc:
            error = talk_error(exc, model)
            if error is None:
                raise
            raise error from exc

    @staticmethod
    def _start_chat(
        chat: ChatProvider, profile: ModelProfile, settings: ReplySettings, prompt: ChatPrompt
    ) -> ReplyStream:
        return chat.stream_chat(
            profile.model,
            prompt.messages,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
        )

    def _talk(
        self,
        chat: ChatProvider,
        profile: ModelProfile,
        settings: ReplySettings,
        history: Sequence[Said],
    ) -> Generator[str, None, TalkResult]:
        if profile.endpoint == "chat":
            prompt = chat_prompt(profile, settings, history)
            try:
                reply = self._start_chat(chat, profile, settings, prompt)
            except ProviderError as refused:
                # Our table of context windows can be wrong for a model (a deployment behind a
                # gateway, a newer snapshot): the API says the real one, so trim to that.
                window = stated_window(refused)
                if window is None or window >= profile.context_window:
                    raise
                profile = replace(profile, base=replace(profile.base, context_window=window))
                prompt = chat_prompt(profile, settings, history)
                reply = self._start_chat(chat, profile, settings, prompt)
            return (yield from _relay(profile, reply, prompt.dropped))
        legacy = completion_prompt(profile, settings, history)
        if profile.classifier_labels is not None:
            candidates = chat.classify(
                profile.model, legacy.text, stop=legacy.stop, top=CLASSIFIER_ALTERNATIVES
            )
            classification = _classification(candidates, profile.classifier_labels)
            text = classification.label.strip()
            if text:
                yield text
            return TalkResult(profile.model, text, "stop", None, 0, classification)
        reply = chat.stream_completion(
            profile.model,
            legacy.text,
            stop=legacy.stop,
            max_tokens=legacy.max_tokens,
            temperature=settings.temperature,
        )
        return (yield from _relay(profile, reply, 0))


def _relay(
    profile: ModelProfile, reply: ReplyStream, dropped: int
) -> Generator[str, None, TalkResult]:
    with reply:
        yield from reply
    ended = reply.result
    return TalkResult(profile.model, ended.text, ended.finish_reason, ended.usage, dropped)


def _classification(candidates: list[tuple[str, float]], labels: tuple[str, ...]) -> Classification:
    """Map the top tokens to labels: exactly, or ignoring the whitespace around them (a model
    may put the space in a different token than its training data did)."""
    by_text = {label: label for label in labels} | {
        label.strip(): label for label in labels if label.strip() not in labels
    }
    probabilities: dict[str, float] = {}
    for token, probability in candidates:
        label = by_text.get(token, by_text.get(token.strip()))
        if label is not None:
            probabilities[label] = probabilities.get(label, 0.0) + probability
    chosen = candidates[0][0] if candidates else ""
    label = by_text.get(chosen, by_text.get(chosen.strip(), chosen))
    ranked = sorted(probabilities.items(), key=lambda item: item[1], reverse=True)
    return Classification(label, tuple((name, round(p, 6)) for name, p in ranked))


def talk_error(exc: BaseException, model: str) -> TalkError | None:
    """The TalkError for anything that stopped a reply; None for what is a bug, not a problem.

    Public for front ends that resolve a model themselves (e.g. `/finetune use`) and want to
    say the same thing about the same problem.
    """
    if isinstance(exc, TalkError):
        return exc
    if isinstance(exc, ModelNotReadyError):
        return TalkError(
            exc.message, HINT_WAIT.format(job=exc.job_short_id), problem=TalkProblem.NOT_READY
        )
    if isinstance(exc, ModelNotFoundError):
        return TalkError(exc.message, HINT_REBIND, problem=TalkProblem.MODEL_GONE)
    if isinstance(exc, UnknownModelError):
        return TalkError(
            f"tunebot does not know how to talk to `{model}`: its base model is not one of "
            f"{', '.join(exc.known)}",
            HINT_REBIND,
            problem=TalkProblem.UNKNOWN_MODEL,
        )
    if isinstance(exc, ContextTooLongError):
        return TalkError(
            f"This is too long for `{model}`: {exc}.",
            HINT_SHORTER,
            problem=TalkProblem.CONTEXT_TOO_LONG,
        )
    if isinstance(exc, EmptyConversationError):
        return TalkError(
            "There is no message to answer.",
            "Write a message first.",
            problem=TalkProblem.NOTHING_TO_ANSWER,
        )
    if isinstance(exc, ProviderError):
        return _provider_problem(exc, model)
    return None


def _provider_problem(exc: ProviderError, model: str) -> TalkError:
    if exc.status == 404 and (exc.code == "model_not_found" or exc.param == "model"):
        return TalkError(
            f"`{model}` no longer exists or you have no access to it — it may have been deleted.",
            HINT_REBIND,
            problem=TalkProblem.MODEL_GONE,
        )
    if "insufficient_quota" in (exc.code, exc.error_type):
        return TalkError(
            "The OpenAI account is out of quota, so the model cannot answer.",
            HINT_QUOTA,
            problem=TalkProblem.QUOTA,
        )
    if exc.status == 429:
        return TalkError(
            "OpenAI is rate-limiting requests.",
            HINT_RETRY_SOON,
            problem=TalkProblem.RATE_LIMITED,
            retryable=True,
        )
    if exc.code == "context_length_exceeded":
        return TalkError(
            f"This is too long for `{model}`: {exc.message}",
            HINT_SHORTER,
            problem=TalkProblem.CONTEXT_TOO_LONG,
        )
    if exc.connection:
        return TalkError(
            exc.message, HINT_ASK_AGAIN, problem=TalkProblem.CONNECTION, retryable=True
        )
    if exc.status is not None and exc.status >= 500:
        return TalkError(
            "OpenAI could not answer because of a problem on its side.",
            HINT_SERVICE,
            problem=TalkProblem.CONNECTION,
            retryable=True,
        )
    return TalkError(exc.message, exc.hint, problem=TalkProblem.REFUSED, retryable=exc.retryable)
