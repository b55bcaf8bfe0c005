"""/v1/chat/completions and the legacy /v1/completions, answered with a scripted reply.

Replies come from `config.chat_reply` (text, or a function of the messages) at
`config.tokens_per_second` (0 = at once), streamed as server-sent events when asked; with
`config.stream_error_after` a stream breaks off with OpenAI's in-stream error event.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .catalog import BY_ID, BaseModel, base_of_fine_tuned, resolve_base
from .errors import ApiError, bad_request, invalid_type, model_not_found, server_error
from .httpio import JsonResponse, Request, Response, Route, StreamResponse, require
from .sampling import (
    chat_logprobs,
    completion_logprobs,
    prompt_tokens,
    reply_for,
    split_tokens,
)
from .state import CompletionRecord, EmulatorState

FINGERPRINT = "fp_emulator"
LEGACY_DEFAULT_MAX_TOKENS = 16


@dataclass
class Answer:
    """One reply, already cut to `max_tokens`, with what the response needs to describe it."""

    id: str
    model: str
    created: int
    tokens: list[str]
    finish_reason: str
    prompt_tokens: int
    top_logprobs: int | None

    def usage(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": len(self.tokens),
            "total_tokens": self.prompt_tokens + len(self.tokens),
        }


def chat_completions(state: EmulatorState, request: Request) -> Response:
    body = request.json()
    model = _serving_model(state, require(body, "model"), chat=True)
    messages = require(body, "messages", list)
    if not messages:
        raise bad_request(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            param="messages",
            code="empty_array",
        )
    limit = _max_tokens(body, ("max_completion_tokens", "max_tokens"), None)
    top = None
    if body.get("logprobs"):
        top = body.get("top_logprobs") or 0
        if not isinstance(top, int) or not 0 <= top <= 20:
            raise bad_request("Invalid 'top_logprobs': must be between 0 and 20.", "top_logprobs")
    answer = _answer(
        state,
        model,
        prompt_tokens(messages),
        reply_for(state.config, messages),
        limit,
        top,
        "messages",
        "chatcmpl-",
    )
    record = _record(state, answer, "chat", body)
    if body.get("stream"):
        return StreamResponse(_chat_stream(state, answer, _include_usage(body), record))
    _pace(state, len(answer.tokens))
    _sent_all(record)
    usage = answer.usage()
    usage["prompt_tokens_details"] = {"cached_tokens": 0, "audio_tokens": 0}
    usage["completion_tokens_details"] = {"reasoning_tokens": 0, "audio_tokens": 0}
    logprobs = chat_logprobs(answer.tokens, top) if top is not None else None
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(answer.tokens),
        "refusal": None,
        "annotations": [],
    }
    return JsonResponse(
        {
            "id": answer.id,
            "object": "chat.completion",
            "created": answer.created,
            "model": answer.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": logprobs,
                    "finish_reason": answer.finish_reason,
                }
            ],
            "usage": usage,
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
        }
    )


def completions(state: EmulatorState, request: Request) -> Response:
    body = request.json()
    model = _serving_model(state, require(body, "model"), chat=False)
    prompt = require(body, "prompt", (str, list))
    if isinstance(prompt, list):
        prompt = str(prompt[0]) if prompt else ""
    limit = _max_tokens(body, ("max_tokens",), LEGACY_DEFAULT_MAX_TOKENS)
    top = body.get("logprobs")
    if top is not None and (not isinstance(top, int) or not 0 <= top <= 5):
        raise bad_request("Invalid 'logprobs': must be between 0 and 5.", "logprobs")
    reply = reply_for(state.config, [{"role": "user", "content": prompt}])
    answer = _answer(state, model, len(split_tokens(prompt)), reply, limit, top, "prompt", "cmpl-")
    record = _record(state, answer, "completions", body)
    if body.get("stream"):
        return StreamResponse(_completion_stream(state, answer, _include_usage(body), record))
    _pace(state, len(answer.tokens))
    _sent_all(record)
    choice = {
        "text": "".join(answer.tokens),
        "index": 0,
        "logprobs": completion_logprobs(answer.tokens, top) if top is not None else None,
        "finish_reason": answer.finish_reason,
    }
    return JsonResponse(
        {
            "id": answer.id,
            "object": "text_completion",
            "created": answer.created,
            "model": answer.model,
            "choices": [choice],
            "usage": answer.usage(),
            "system_fingerprint": FINGERPRINT,
        }
    )


def _serving_model(state: EmulatorState, name: str, *, chat: bool) -> tuple[str, BaseModel]:
    """The model id the answer names, and the base model behind it; 404 like the API."""
    base = resolve_base(name)
    served = base.id if base else name
    if base is None and name.startswith("ft:"):
        with state.lock:
            if name in state.models or _is_live_checkpoint(state, name):
                base = BY_ID.get(base_of_fine_tuned(name))
    if base is None:
        raise model_not_found(name)
    if chat and not base.chat:
        raise ApiError(
            404,
            "This is not a chat model and thus not supported in the v1/chat/completions "
            "endpoint. Did you mean to use v1/completions?",
            param="model",
        )
    if not chat and base.chat:
        raise ApiError(
            404,
            "This is a chat model and not supported in the v1/completions endpoint. "
            "Did you mean to use v1/chat/completions?",
            param="model",
        )
    return served, base


def _is_live_checkpoint(state: EmulatorState, name: str) -> bool:
    return any(
        job.status == "succeeded"
        and job.planned_model in state.models
        and any(c["fine_tuned_model_checkpoint"] == name for c in job.checkpoints)
        for job in state.jobs.values()
    )


def _max_tokens(body: dict[str, Any], names: tuple[str, ...], default: int | None) -> int | None:
    for name in names:
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid_type(name, "an integer")
        if value < 1:
            raise bad_request(
                f"Invalid '{name}': integer below minimum value. Expected a value >= 1, but "
                f"got {value} instead.",
                param=name,
                code="integer_below_min_value",
            )
        return value
    return default


def _answer(
    state: EmulatorState,
    model: tuple[str, BaseModel],
    prompt: int,
    reply: str,
    limit: int | None,
    top: int | None,
    prompt_param: str,
    prefix: str,
) -> Answer:
    served, base = model
    window = state.config.context_window or base.context_window
    if prompt + (limit or 0) > window:
        if limit:
            detail = (
                f"However, you requested {prompt + limit} tokens ({prompt} in the messages, "
                f"{limit} in the completion). Please reduce the length of the messages or "
                "completion."
            )
        else:
            detail = (
                f"However, your messages resulted in {prompt} tokens. Please reduce the length "
                "of the messages."
            )
        raise bad_request(
            f"This model's maximum context length is {window} tokens. {detail}",
            param=prompt_param,
            code="context_length_exceeded",
        )
    tokens = split_tokens(reply)
    finish = "stop"
    if limit is not None and len(tokens) > limit:
        tokens, finish = tokens[:limit], "length"
    with state.lock:
        answer_id = state.new_id(prefix, 29)
    return Answer(answer_id, served, state.now(), tokens, finish, prompt, top)


def _record(
    state: EmulatorState, answer: Answer, endpoint: str, body: dict[str, Any]
) -> CompletionRecord:
    record = CompletionRecord(answer.id, endpoint, answer.model, body, time.time())
    with state.lock:
        state.completions.append(record)
    return record


def _sent_all(record: CompletionRecord) -> None:
    """A non-streamed answer leaves in one piece: its first and last tokens go together."""
    record.first_token_at = record.last_token_at = time.time()


def _sent(record: CompletionRecord) -> None:
    now = time.time()
    if record.first_token_at is None:
        record.first_token_at = now
    record.last_token_at = now


def _include_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and bool(options.get("include_usage"))


def _pace(state: EmulatorState, tokens: int) -> None:
    rate = state.config.tokens_per_second
    if rate > 0 and tokens:
        state.stopping.wait(tokens / rate)


def _paced(state: EmulatorState, tokens: list[str]) -> Iterator[tuple[int, str]]:
    """Yield tokens on the configured schedule; stop early if the emulator shuts down."""
    rate = state.config.tokens_per_second
    start = time.monotonic()
    for index, token in enumerate(tokens):
        if rate > 0:
            delay = start + (index + 1) / rate - time.monotonic()
            if delay > 0 and state.stopping.wait(delay):
                return
        yield index, token


def _event(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


_STREAM_ERROR = _event(
    {
        "error": {
            "message": server_error().message,
            "type": "server_error",
            "param": None,
            "code": None,
        }
    }
)
"""What OpenAI sends when an answer breaks off mid-stream: an error event, then nothing (the
SDK raises `APIError` on it)."""


def _breaks_off(state: EmulatorState, index: int) -> bool:
    after = state.config.stream_error_after
    return after is not None and index >= after


def _chat_stream(
    state: EmulatorState, answer: Answer, include_usage: bool, record: CompletionRecord
) -> Iterator[bytes]:
    def chunk(choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> bytes:
        payload: dict[str, Any] = {
            "id": answer.id,
            "object": "chat.completion.chunk",
            "created": answer.created,
            "model": answer.model,
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
            "choices": choices,
        }
        if include_usage:
            payload["usage"] = usage
        return _event(payload)

    def choice(delta: dict[str, Any], finish: str | None = None, lp: Any = None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "logprobs": lp, "finish_reason": finish}

    yield chunk([choice({"role": "assistant", "content": "", "refusal": None})])
    for index, token in _paced(state, answer.tokens):
        if _breaks_off(state, index):
            yield _STREAM_ERROR
            return
        top = answer.top_logprobs
        logprobs = chat_logprobs([token], top) if top is not None else None
        yield chunk([choice({"content": token}, lp=logprobs)])
        _sent(record)
    if state.stopping.is_set():
        return  # shutting down: the server drops the connection mid-stream
    yield chunk([choice({}, answer.finish_reason)])
    if include_usage:
        yield chunk([], answer.usage())
    yield b"data: [DONE]\n\n"


def _completion_stream(
    state: EmulatorState, answer: Answer, include_usage: bool, record: CompletionRecord
) -> Iterator[bytes]:
    def chunk(choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> bytes:
        payload: dict[str, Any] = {
            "id": answer.id,
            "object": "text_completion",
            "created": answer.created,
            "model": answer.model,
            "system_fingerprint": FINGERPRINT,
            "choices": choices,
        }
        if include_usage:
            payload["usage"] = usage
        return _event(payload)

    offset = 0
    for index, token in _paced(state, answer.tokens):
        if _breaks_off(state, index):
            yield _STREAM_ERROR
            return
        top = answer.top_logprobs
        logprobs = completion_logprobs([token], top, offset) if top is not None else None
        offset += len(token)
        yield chunk([{"text": token, "index": 0, "logprobs": logprobs, "finish_reason": None}])
        _sent(record)
    if state.stopping.is_set():
        return
    yield chunk([{"text": "", "index": 0, "logprobs": None, "finish_reason": answer.finish_reason}])
    if include_usage:
        yield chunk([], answer.usage())
    yield b"data: [DONE]\n\n"


ROUTES = [
    Route("POST", r"/v1/chat/completions", chat_completions),
    Route("POST", r"/v1/completions", completions),
]
