"""What the emulated model says, and how its text is counted.

A *token* here is a word or a punctuation mark together with the whitespace before it, so
joining a reply's tokens gives the reply back exactly and counts are easy to predict in tests.
A chat prompt costs its content tokens plus 3 per message plus 3 for the reply's priming.
Log-probabilities are derived from a checksum of the token: fixed for a given text.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

from .state import EmulatorConfig

TOKEN = re.compile(r"\s*(?:\w+|[^\w\s])|\s+")
ALTERNATIVES = (" the", " a", ",", ".", " and", " of", " to", " is", " it", " that")


def split_tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


def message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(len(split_tokens(message_text(m))) + 3 for m in messages) + 3


def reply_for(config: EmulatorConfig, messages: list[dict[str, Any]]) -> str:
    reply = config.chat_reply
    return reply if isinstance(reply, str) else reply(messages)


def logprob(token: str) -> float:
    return -round(0.01 + (zlib.crc32(token.encode()) % 1000) / 800, 5)


def alternatives(token: str, count: int) -> list[tuple[str, float]]:
    """The token itself first, then `count - 1` less likely stand-ins."""
    chosen = [(token, logprob(token))]
    for alternative in ALTERNATIVES:
        if len(chosen) >= count:
            break
        if alternative != token:
            chosen.append((alternative, round(chosen[-1][1] - 1.25, 5)))
    return chosen[:count]


def chat_logprobs(tokens: list[str], top: int) -> dict[str, Any]:
    content = []
    for token in tokens:
        content.append(
            {
                "token": token,
                "logprob": logprob(token),
                "bytes": list(token.encode()),
                "top_logprobs": [
                    {"token": alt, "logprob": value, "bytes": list(alt.encode())}
                    for alt, value in alternatives(token, top)
                ],
            }
        )
    return {"content": content, "refusal": None}


def completion_logprobs(tokens: list[str], top: int, offset: int = 0) -> dict[str, Any]:
    offsets = []
    position = offset
    for token in tokens:
        offsets.append(position)
        position += len(token)
    return {
        "tokens": tokens,
        "token_logprobs": [logprob(token) for token in tokens],
        "top_logprobs": [dict(alternatives(token, top)) for token in tokens] if top else None,
        "text_offset": offsets,
    }
