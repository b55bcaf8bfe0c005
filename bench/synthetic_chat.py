"""A deterministic synthetic chat fine-tuning dataset for the validation benchmark.

Seeded `random` over hand-written word lists: no download, the same bytes on every machine for a
given seed, so timings from different runs compare the same work. Each example carries the shared
system prompt (as real datasets do, which is what a token cache could exploit), one or two
user/assistant exchanges in English or Japanese, and about 2% declare tools and call one.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import wordlists as w

DEFAULT_SEED = 20240718
TOOL_SHARE = 0.02
SECOND_EXCHANGE_SHARE = 0.35
NAMED_USER_SHARE = 0.01
JAPANESE_SHARE = 0.45

TOOLS: tuple[dict[str, Any], ...] = (
    {
        "type": "function",
        "function": {
            "name": "get_order_status",
            "description": "Look up the delivery status of one customer order.",
            "parameters": {
                "type": "object",
                "properties": {
                    "order_id": {"type": "string", "description": "Order number, e.g. A-10293"}
                },
                "required": ["order_id"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "search_help_center",
            "description": "Search the help center articles in one language.",
            "parameters": {
                "type": "object",
                "properties": {
                    "query": {"type": "string"},
                    "language": {"type": "string", "enum": ["en", "ja"]},
                },
                "required": ["query", "language"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "create_support_ticket",
            "description": "Open a ticket for the human support team.",
            "parameters": {
                "type": "object",
                "properties": {
                    "subject": {"type": "string"},
                    "priority": {"type": "string", "enum": ["low", "normal", "high"]},
                    "description": {"type": "string"},
                },
                "required": ["subject", "priority"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "check_invoice",
            "description": "Return the amount and payment state of an invoice.",
            "parameters": {
                "type": "object",
                "properties": {
                    "invoice_id": {"type": "string"},
                    "month": {"type": "string", "description": "YYYY-MM"},
                },
                "required": ["invoice_id"],
            },
        },
    },
)


@dataclass(frozen=True)
class DatasetStats:
    """What was written, so the benchmark can check the engine saw the same thing."""

    examples: int
    messages: int
    bytes: int


class ChatExampleGenerator:
    """Builds examples from a private `random.Random`, so the output is reproducible."""

    def __init__(self, seed: int = DEFAULT_SEED) -> None:
        self._rng = random.Random(seed)
        self._english: tuple[Callable[[], str], ...] = (
            self._en_modal,
            self._en_because,
            self._en_please,
            self._en_name_file,
            self._en_price,
            self._en_connector,
            self._en_status,
        )
        self._japanese: tuple[Callable[[], str], ...] = (
            self._ja_suru,
            self._ja_adjective,
            self._ja_na_reason,
            self._ja_place_request,
            self._ja_person,
            self._ja_count,
            self._ja_deadline,
            self._ja_sequence,
            self._ja_file,
        )

    # --- building blocks -----------------------------------------------------------------------

    def _pick(self, items: tuple[str, ...]) -> str:
        return items[int(self._rng.random() * len(items))]

    def _number(self) -> str:
        value = self._rng.choice((self._rng.randint(2, 12), self._rng.randint(13, 999)))
        return str(value)

    def _date_en(self) -> str:
        months = ("January", "February", "March", "April", "May", "June", "July", "August")
        return f"{self._pick(months)} {self._rng.randint(1, 28)}"

    def _order_id(self) -> str:
        return f"{self._rng.choice('ABCDK')}-{self._rng.randint(10000, 99999)}"

    # --- English sentences ---------------------------------------------------------------------

    def _en_object(self) -> str:
        if self._rng.random() < 0.6:
            adjective = self._pick(w.EN_ADJECTIVES)
            return f"{self._pick(w.EN_DETERMINERS)} {adjective} {self._pick(w.EN_NOUNS)}"
        return f"{self._pick(w.EN_DETERMINERS)} {self._pick(w.EN_NOUNS)}"

    def _en_modal(self) -> str:
        return (
            f"{self._pick(w.EN_SUBJECTS)} {self._pick(w.EN_MODALS)} {self._pick(w.EN_VERBS)} "
            f"{self._en_object()} {self._pick(w.EN_PHRASES)}."
        )

    def _en_because(self) -> str:
        return (
            f"{self._pick(w.EN_SUBJECTS)} {self._pick(w.EN_MODALS)} {self._pick(w.EN_ADVERBS)} "
            f"{self._pick(w.EN_VERBS)} {self._en_object()} because the {self._pick(w.EN_NOUNS)} "
            f"is {self._pick(w.EN_ADJECTIVES)}."
        )

    def _en_please(self) -> str:
        return (
            f"please {self._pick(w.EN_VERBS)} {self._en_object()} and "
            f"{self._pick(w.EN_VERBS)} {self._en_object()} {self._pick(w.EN_PHRASES)}."
        )

    def _en_name_file(self) -> str:
        return (
            f"{self._pick(w.EN_NAMES)} sent {self._pick(w.EN_FILES)} with {self._number()} "
            f"{self._pick(w.EN_NOUNS)} entries on {self._date_en()}."
        )

    def _en_price(self) -> str:
        cents = self._rng.randint(0, 99)
        return (
            f"the {self._pick(w.EN_ADJECTIVES)} {self._pick(w.EN_NOUNS)} costs "
            f"€{self._rng.randint(5, 4999)}.{cents:02d} and takes about {self._number()} days."
        )

    def _en_connector(self) -> str:
        return (
            f"{self._pick(w.EN_CONNECTORS)} {self._pick(w.EN_SUBJECTS)} "
            f"{self._pick(w.EN_MODALS)} {self._pick(w.EN_VERBS)} {self._en_object()}."
        )

    def _en_status(self) -> str:
        return (
            f"order {self._order_id()} for {self._pick(w.EN_NAMES)} is "
            f"{self._pick(w.EN_ADJECTIVES)}, so {self._pick(w.EN_SUBJECTS)} "
            f"{self._pick(w.EN_MODALS)} {self._pick(w.EN_VERBS)} it {self._pick(w.EN_PHRASES)}."
        )

    def _en_question(self) -> str:
        return (
            f"{self._pick(w.EN_QUESTION_STARTS)} {self._pick(w.EN_VERBS)} {self._en_object()} "
            f"{self._pick(w.EN_PHRASES)}?"
        )

    def _en_sentence(self) -> str:
        sentence = self._english[int(self._rng.random() * len(self._english))]()
        return sentence[0].upper() + sentence[1:]

    def _en_steps(self) -> str:
        steps = []
        for number in range(1, self._rng.randint(2, 4) + 1):
            step = f"{self._pick(w.EN_VERBS)} {self._en_object()} {self._pick(w.EN_PHRASES)}."
            steps.append(f"{number}. {step[0].upper()}{step[1:]}")
        return "\n".join(steps)

    # --- Japanese sentences --------------------------------------------------------------------

    def _ja_suru_ending(self) -> str:
        return self._pick(
            (
                "します",
                "しました",
                "してください",
                "したいです",
                "できますか",
                "しておきます",
                "しましょう",
                "する必要があります",
                "していただけますか",
                "しませんでした",
            )
        )

    def _ja_verb_ending(self) -> str:
        stem, te = self._rng.choice(w.JA_VERBS)
        return self._pick(
            (
                f"{stem}ます",
                f"{stem}ました",
                f"{stem}ません",
                f"{stem}たいです",
                f"{te}ください",
                f"{te}います",
                f"{te}もらえますか",
                f"{te}おきました",
            )
        )

    def _ja_suru(self) -> str:
        return (
            f"{self._pick(w.JA_NOUNS)}の{self._pick(w.JA_NOUNS)}を"
            f"{self._pick(w.JA_SURU_NOUNS)}{self._ja_suru_ending()}。"
        )

    def _ja_adjective(self) -> str:
        return (
            f"{self._pick(w.JA_ADVERBS)}{self._pick(w.JA_NOUNS)}が"
            f"{self._pick(w.JA_I_ADJECTIVES)}です。"
        )

    def _ja_na_reason(self) -> str:
        return (
            f"{self._pick(w.JA_NOUNS)}は{self._pick(w.JA_NA_ADJECTIVES)}なので、"
            f"{self._pick(w.JA_ADVERBS)}{self._pick(w.JA_SURU_NOUNS)}{self._ja_suru_ending()}。"
        )

    def _ja_place_request(self) -> str:
        return (
            f"{self._pick(w.JA_PLACES)}の{self._pick(w.JA_NOUNS)}について{self._ja_verb_ending()}。"
        )

    def _ja_person(self) -> str:
        return (
            f"{self._pick(w.EN_NAMES)}{self._pick(w.JA_PERSON_SUFFIXES)}に"
            f"{self._pick(w.JA_NOUNS)}を{self._ja_verb_ending()}。"
        )

    def _ja_count(self) -> str:
        return (
            f"{self._pick(w.JA_CONNECTORS)}{self._pick(w.JA_NOUNS)}の{self._pick(w.JA_NOUNS)}は"
            f"{self._number()}件あります。"
        )

    def _ja_deadline(self) -> str:
        return (
            f"{self._rng.randint(1, 12)}月{self._rng.randint(1, 28)}日までに"
            f"{self._pick(w.JA_NOUNS)}を{self._pick(w.JA_SURU_NOUNS)}する予定です。"
        )

    def _ja_sequence(self) -> str:
        return (
            f"{self._pick(w.JA_NOUNS)}と{self._pick(w.JA_NOUNS)}を"
            f"{self._pick(w.JA_SURU_NOUNS)}してから、{self._pick(w.JA_NOUNS)}を"
            f"{self._ja_verb_ending()}。"
        )

    def _ja_file(self) -> str:
        return (
            f"{self._pick(w.EN_FILES)}の{self._pick(w.JA_NOUNS)}が"
            f"{self._pick(w.JA_NA_ADJECTIVES)}ではありません。"
        )

    def _ja_question(self) -> str:
        return (
            f"{self._pick(w.JA_NOUNS)}の{self._pick(w.JA_NOUNS)}を"
            f"{self._pick(w.JA_SURU_NOUNS)}するにはどうすればいいですか。"
        )

    def _ja_sentence(self) -> str:
        return self._japanese[int(self._rng.random() * len(self._japanese))]()

    def _ja_steps(self) -> str:
        steps = [
            f"{number}. {self._pick(w.JA_NOUNS)}を{self._pick(w.JA_SURU_NOUNS)}してください。"
            for number in range(1, self._rng.randint(2, 4) + 1)
        ]
        return "\n".join(steps)

    # --- turns ---------------------------------------------------------------------------------

    def _user_text(self, japanese: bool, sentences: int) -> str:
        parts = []
        if self._rng.random() < 0.5:
            parts.append(self._pick(w.JA_OPENERS if japanese else w.EN_OPENERS))
        for _ in range(sentences - 1):
            parts.append(self._ja_sentence() if japanese else self._en_sentence())
        parts.append(self._ja_question() if japanese else self._en_question())
        return ("" if japanese else " ").join(parts)

    def _assistant_text(self, japanese: bool, sentences: int) -> str:
        separator = "" if japanese else " "
        parts = [self._pick(w.JA_ASSISTANT_STARTS if japanese else w.EN_ASSISTANT_STARTS)]
        parts.extend(
            self._ja_sentence() if japanese else self._en_sentence() for _ in range(sentences)
        )
        text = separator.join(parts)
        if self._rng.random() < 0.3:
            text += "\n\n" + (self._ja_steps() if japanese else self._en_steps())
        return text

    def _user_message(self, japanese: bool, sentences: int) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "user", "content": self._user_text(japanese, sentences)}
        if self._rng.random() < NAMED_USER_SHARE:
            message["name"] = self._pick(w.EN_NAMES).lower()
        return message

    def _tool_exchange(self, japanese: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Declared tools, then: assistant calls one tool, the tool answers, assistant replies."""
        declared = self._rng.sample(TOOLS, self._rng.randint(2, len(TOOLS)))
        tool = self._rng.choice(declared)
        name = tool["function"]["name"]
        arguments: dict[str, Any]
        if name == "get_order_status":
            arguments = {"order_id": self._order_id()}
            result: dict[str, Any] = {"status": "shipped", "eta": self._date_en()}
        elif name == "search_help_center":
            query = self._ja_question() if japanese else self._en_question()
            arguments = {"query": query, "language": "ja" if japanese else "en"}
            result = {"articles": [self._ja_sentence() if japanese else self._en_sentence()]}
        elif name == "create_support_ticket":
            arguments = {
                "subject": self._ja_sentence() if japanese else self._en_sentence(),
                "priority": self._rng.choice(("low", "normal", "high")),
            }
            result = {"ticket": f"T-{self._rng.randint(1000, 9999)}", "created": True}
        else:
            arguments = {"invoice_id": f"INV-{self._rng.randint(100, 999)}", "month": "2025-03"}
            result = {"amount_eur": self._rng.randint(20, 5000), "paid": self._rng.random() < 0.5}
        call_id = f"call_{self._rng.getrandbits(64):016x}"
        messages: list[dict[str, Any]] = [
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": name, "arguments": orjson.dumps(arguments).decode()},
                    }
                ],
            },
            {
                "role": "tool",
                "tool_call_id": call_id,
                "content": orjson.dumps(result, option=orjson.OPT_NON_STR_KEYS).decode(),
            },
            {"role": "assistant", "content": self._assistant_text(japanese, 2)},
        ]
        return declared, messages

    def example(self) -> dict[str, Any]:
        """One fine-tuning example in OpenAI's chat format."""
        rng = self._rng
        japanese = rng.random() < JAPANESE_SHARE
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": w.SYSTEM_PROMPT},
            self._user_message(japanese, rng.randint(1, 3)),
        ]
        if rng.random() < TOOL_SHARE:
            tools, tool_messages = self._tool_exchange(japanese)
            messages.extend(tool_messages)
            return {"messages": messages, "tools": tools}
        messages.append(
            {"role": "assistant", "content": self._assistant_text(japanese, rng.randint(2, 5))}
        )
        if rng.random() < SECOND_EXCHANGE_SHARE:
            messages.append(self._user_message(japanese, rng.randint(1, 2)))
            messages.append(
                {"role": "assistant", "content": self._assistant_text(japanese, rng.randint(1, 3))}
            )
        return {"messages": messages}

    def examples(self) -> Iterator[dict[str, Any]]:
        """An endless stream of examples."""
        while True:
            yield self.example()


def write_dataset(
    path: Path,
    *,
    examples: int | None = None,
    target_bytes: int | None = None,
    seed: int = DEFAULT_SEED,
) -> DatasetStats:
    """Write JSONL until `examples` lines, or until the file reaches `target_bytes`."""
    if (examples is None) == (target_bytes is None):
        raise ValueError("give exactly one of examples or target_bytes")
    generator = ChatExampleGenerator(seed)
    written = messages = size = 0
    with path.open("wb", buffering=1 << 20) as out:
        for example in generator.examples():
            if examples is not None and written >= examples:
                break
            if target_bytes is not None and size >= target_bytes:
                break
            line = orjson.dumps(example) + b"\n"
            out.write(line)
            size += len(line)
            written += 1
            messages += len(example["messages"])
    return DatasetStats(examples=written, messages=messages, bytes=size)
