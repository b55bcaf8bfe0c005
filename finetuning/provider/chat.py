"""Talking to a model: streamed chat and legacy completions, one-token classification, and
whether a model still exists.

A reply is streamed so a chat front end can show the words as they come; what is only known at
the end (why it stopped, what it cost) waits on the stream until it is exhausted. Everything that
can go wrong, including a connection that breaks off after the first words, surfaces as
`ProviderError`, like every other call in this package.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import openai
from openai.types.chat import ChatCompletionMessageParam

from .errors import ProviderError, translated

Role = Literal["system", "user", "assistant"]

CUT_OFF = "The reply from OpenAI broke off before it was complete."


@dataclass(frozen=True)
class ChatMessage:
    """One message of a chat prompt."""

    role: Role
    content: str


@dataclass(frozen=True)
class Usage:
    """Tokens a reply was billed for, as the API reported them."""

    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class StreamResult:
    """How a streamed reply ended: its whole text, why it stopped, and what it cost.

    `finish_reason` is the API's ("stop", "length", "content_filter", …); `usage` is None only
    when the service sent no usage; `model` is the model that answered, as the API named it.
    """

    text: str
    finish_reason: str
    usage: Usage | None
    model: str | None


_Pick = Callable[[Any], tuple[str | None, str | None]]
"""Reads a chunk's first choice: (text delta, finish reason)."""


class ReplyStream(Iterator[str]):
    """The text deltas of one reply, then `result` once iteration has finished.

    Iterating raises ProviderError (never an SDK or httpx error) when the service reports an
    error mid-stream, the connection breaks, or the stream ends without saying why it stopped.
    Call `close` (or use `with`) when stopping early, to hand the connection back.
    """

    def __init__(self, stream: openai.Stream[Any], pick: _Pick) -> None:
        self._stream = stream
        self._pick = pick
        self._result: StreamResult | None = None
        self._deltas = self._read()

    def __next__(self) -> str:
        return next(self._deltas)

    def __iter__(self) -> ReplyStream:
        return self

    def __enter__(self) -> ReplyStream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._deltas.close()
        self._stream.close()

    @property
    def result(self) -> StreamResult:
        """How the reply ended; only once every delta has been read."""
        if self._result is None:
            raise RuntimeError("the reply has not been read to its end yet")
        return self._result

    def _read(self) -> Generator[str, None, None]:
        parts: list[str] = []
        finish: str | None = None
        usage: Usage | None = None
        model: str | None = None
        try:
            with translated():
                for chunk in self._stream:
                    model = getattr(chunk, "model", None) or model
                    usage = _usage(getattr(chunk, "usage", None)) or usage
                    if not chunk.choices:
                        continue
                    text, reason = self._pick(chunk.choices[0])
                    finish = reason or finish
                    if text:
                        parts.append(text)
                        yield text
        except httpx.TransportError as exc:
            raise ProviderError(f"{CUT_OFF} ({exc})", connection=True) from exc
        finally:
            self._stream.close()
        if finish is None:
            raise ProviderError(CUT_OFF, connection=True)
        self._result = StreamResult("".join(parts), finish, usage, model)


class ChatProvider:
    """The calls a conversation makes, on the same client (and so the same retries) as
    `OpenAIProvider`."""

    def __init__(self, client: openai.OpenAI) -> None:
        self._client = client

    def stream_chat(
        self,
        model: str,
        messages: Sequence[ChatMessage],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> ReplyStream:
        """Start a chat reply. A refused request (unknown model, no quota, too long) raises
        ProviderError here, before any delta; later failures raise from the iteration."""
        with translated():
            stream = self._client.chat.completions.create(
                model=model,
                messages=[_message_param(m) for m in messages],
                temperature=_given(temperature),
                max_completion_tokens=_given(max_tokens),
                stream=True,
                stream_options={"include_usage": True},
            )
        return ReplyStream(stream, _chat_choice)

    def stream_completion(
        self,
        model: str,
        prompt: str,
        *,
        stop: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> ReplyStream:
        """Start a legacy completion (babbage-002, davinci-002 and their fine-tunes).

        Pass `max_tokens`: the legacy endpoint's own default is 16 tokens.
        """
        with translated():
            stream = self._client.completions.create(
                model=model,
                prompt=prompt,
                stop=stop or openai.omit,
                max_tokens=_given(max_tokens),
                temperature=_given(temperature),
                stream=True,
                stream_options={"include_usage": True},
            )
        return ReplyStream(stream, _completion_choice)

    def classify(
        self, model: str, prompt: str, *, stop: str | None = None, top: int = 5
    ) -> list[tuple[str, float]]:
        """The first token a legacy model would write, with its `top` likeliest alternatives.

        Returns (token, probability) pairs, likeliest first; the chosen token is always among
        them. Temperature 0: a classifier should give the same answer for the same text.
        """
        with translated():
            completion = self._client.completions.create(
                model=model,
                prompt=prompt,
                stop=stop or openai.omit,
                max_tokens=1,
                logprobs=top,
                temperature=0,
            )
        if not completion.choices:
            return []
        choice = completion.choices[0]
        logprobs = choice.logprobs
        candidates: dict[str, float] = {}
        if logprobs is not None and logprobs.top_logprobs:
            candidates.update(logprobs.top_logprobs[0] or {})
        if logprobs is not None and logprobs.tokens and logprobs.token_logprobs:
            candidates.setdefault(logprobs.tokens[0], logprobs.token_logprobs[0])
        ranked = sorted(candidates.items(), key=lambda item: item[1], reverse=True)
        return [(token, math.exp(logprob)) for token, logprob in ranked]

    def model_exists(self, model_id: str) -> bool:
        """Whether the account can use this model; False when the API does not know it (a
        deleted fine-tune, a typo, another organization's model)."""
        with translated():
            try:
                self._client.models.retrieve(model_id)
            except openai.NotFoundError:
                return False
        return True


def _given(value: float | None) -> Any:
    """The value, or the SDK's marker for "leave it out" (the API's default then applies)."""
    return openai.omit if value is None else value


def _message_param(message: ChatMessage) -> ChatCompletionMessageParam:
    if message.role == "system":
        return {"role": "system", "content": message.content}
    if message.role == "assistant":
        return {"role": "assistant", "content": message.content}
    return {"role": "user", "content": message.content}


def _chat_choice(choice: Any) -> tuple[str | None, str | None]:
    delta = getattr(choice, "delta", None)
    return getattr(delta, "content", None), getattr(choice, "finish_reason", None)


def _completion_choice(choice: Any) -> tuple[str | None, str | None]:
    return getattr(choice, "text", None), getattr(choice, "finish_reason", None)


def _usage(raw: Any) -> Usage | None:
    if raw is None:
        return None
    return Usage(int(raw.prompt_tokens or 0), int(raw.completion_tokens or 0))
