"""Token counts: the cookbook's figures, the right vocabulary per model, and the shipped files."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import tiktoken
import tiktoken_ext.openai_public as openai_public

from finetuning.datasets.tokenizer import (
    SPECS,
    VocabularyError,
    get_encoding,
    load_ranks,
)
from tests.datasets.builders import (
    SYSTEM,
    assistant,
    example,
    jsonl_file,
    preference,
    user,
    validate,
)


def num_tokens_from_messages(
    messages: list[dict[str, str]],
    encoding: tiktoken.Encoding,
    tokens_per_message: int = 3,
    tokens_per_name: int = 1,
) -> int:
    """OpenAI cookbook, "Data preparation and analysis for chat model fine-tuning", verbatim but
    for the encoding passed in instead of a global."""
    num_tokens = 0
    for message in messages:
        num_tokens += tokens_per_message
        for key, value in message.items():
            num_tokens += len(encoding.encode(value))
            if key == "name":
                num_tokens += tokens_per_name
    num_tokens += 3
    return num_tokens


# The conversation of the cookbook's "How to count tokens with tiktoken", whose published counts
# are 129 (gpt-3.5-turbo / gpt-4, cl100k_base) and 124 (gpt-4o / gpt-4o-mini, o200k_base).
COOKBOOK_MESSAGES = [
    {
        "role": "system",
        "content": "You are a helpful, pattern-following assistant that translates corporate "
        "jargon into plain English.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "New synergies will help drive top-line growth.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Things working well together will increase revenue.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "Let's circle back when we have more bandwidth to touch base on opportunities "
        "for increased leverage.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Let's talk later when we're less busy about how to do better.",
    },
    {
        "role": "user",
        "content": "This late pivot means we don't have time to boil the ocean for the client "
        "deliverable.",
    },
]

RUSSIAN = "Привет, как дела? Расскажи о погоде в Москве."
"""Text that o200k encodes in far fewer tokens than cl100k, so the vocabulary used shows."""

CONVERSATIONS: list[list[dict[str, str]]] = [
    [SYSTEM, user(1), assistant(1)],  # type: ignore[list-item]
    [
        {"role": "system", "content": "You are terse.\nAnswer in one line."},
        {"role": "user", "name": "alice", "content": "What's 2 + 2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "name": "bob_smith", "content": RUSSIAN},
        {"role": "assistant", "name": "helper", "content": "Солнечно, +21 °C. 🌞"},
    ],
    [
        {"role": "user", "content": "  leading and trailing spaces  \t\n"},
        {"role": "assistant", "content": "x" * 300 + " 12345678901234567890"},
    ],
    [
        {"role": "user", "content": "code:\n```python\nprint('hi')\n```"},
        {"role": "assistant", "content": "It prints hi."},
    ],
]


def _file(tmp_path: Path, examples: list[object]) -> Path:
    return jsonl_file(examples)(tmp_path)


@pytest.mark.parametrize(
    ("model", "encoding_name"),
    [("gpt-4o-mini", "o200k_base"), ("gpt-3.5-turbo", "cl100k_base"), ("gpt-4.1", "o200k_base")],
)
def test_chat_counts_equal_the_cookbook(tmp_path: Path, model: str, encoding_name: str) -> None:
    encoding = get_encoding(encoding_name)
    expected = [num_tokens_from_messages(messages, encoding) for messages in CONVERSATIONS]
    report = validate(_file(tmp_path, [{"messages": m} for m in CONVERSATIONS]), model=model)
    assert report.tokens.encoding == encoding_name
    assert report.tokens.total == sum(expected)
    assert report.tokens.max_example == max(expected)
    assert report.tokens.max_example_line == expected.index(max(expected)) + 1
    assert report.tokens.min_example == min(expected)
    assert report.tokens.billed_per_epoch == sum(expected)


@pytest.mark.parametrize(("model", "published"), [("gpt-3.5-turbo", 129), ("gpt-4o-mini", 124)])
def test_the_cookbooks_published_count(tmp_path: Path, model: str, published: int) -> None:
    conversation = [*COOKBOOK_MESSAGES, {"role": "assistant", "content": "ok"}]
    report = validate(
        _file(tmp_path, [{"messages": COOKBOOK_MESSAGES}, example(*conversation)]), model=model
    )
    encoding = get_encoding(report.tokens.encoding)
    assert report.tokens.min_example == published
    assert report.tokens.max_example == published + 3 + 1 + len(encoding.encode("ok"))


def test_the_model_chooses_the_vocabulary(tmp_path: Path) -> None:
    o200k, cl100k = get_encoding("o200k_base"), get_encoding("cl100k_base")
    messages = [user(1, content=RUSSIAN), assistant(1, content=RUSSIAN)]
    assert len(o200k.encode(RUSSIAN)) < len(cl100k.encode(RUSSIAN))  # the premise of this test
    path = _file(tmp_path, [example(*messages)])
    small = validate(path, model="gpt-4o-mini")
    old = validate(path, model="gpt-3.5-turbo")
    assert small.tokens.total == num_tokens_from_messages(messages, o200k)  # type: ignore[arg-type]
    assert old.tokens.total == num_tokens_from_messages(messages, cl100k)  # type: ignore[arg-type]


def test_prompt_completion_counts_both_texts_with_the_legacy_vocabulary(tmp_path: Path) -> None:
    cl100k = get_encoding("cl100k_base")
    rows = [
        {"prompt": f"{RUSSIAN} {i}\n\n###\n\n", "completion": f" Ответ {i}. END"} for i in range(12)
    ]
    report = validate(_file(tmp_path, rows))  # babbage-002 is the default for legacy data
    assert report.estimate.model == "babbage-002"
    assert report.tokens.encoding == "cl100k_base"
    expected = sum(
        len(cl100k.encode(r["prompt"])) + len(cl100k.encode(r["completion"])) for r in rows
    )
    assert report.tokens.total == expected


def test_preference_counts_the_input_once_and_both_outputs(tmp_path: Path) -> None:
    encoding = get_encoding("o200k_base")
    value = preference(1)
    expected = (
        num_tokens_from_messages(value["input"]["messages"], encoding)  # type: ignore[index]
        + num_tokens_from_messages(value["preferred_output"], encoding)  # type: ignore[arg-type]
        - 3
        + num_tokens_from_messages(value["non_preferred_output"], encoding)  # type: ignore[arg-type]
        - 3
    )
    assert validate(_file(tmp_path, [value])).tokens.total == expected


def test_weight_is_not_text_and_tools_count_as_compact_json(tmp_path: Path) -> None:
    encoding = get_encoding("o200k_base")
    tools = [
        {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
    ]
    plain = example(SYSTEM, user(1), assistant(1))
    weighted = example(SYSTEM, user(1), assistant(1, weight=1))
    with_tools = plain | {"tools": tools}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    base = validate(_file(tmp_path / "a", [plain])).tokens.total
    assert validate(_file(tmp_path / "b", [weighted])).tokens.total == base
    compact = json.dumps(tools, separators=(",", ":"))
    assert validate(_file(tmp_path / "c", [with_tools])).tokens.total == base + len(
        encoding.encode(compact)
    )


def test_special_token_text_in_content_is_ordinary_text(tmp_path: Path) -> None:
    encoding = get_encoding("o200k_base")
    text = "<|endoftext|> and <|endofprompt|>"
    messages = [user(1, content=text), assistant(1)]
    report = validate(_file(tmp_path, [example(*messages)]))
    assert report.tokens.total == 3 + sum(
        3
        + len(encoding.encode(m["role"]))
        + len(encoding.encode(m["content"], disallowed_special=()))
        for m in messages
    )
    assert len(encoding.encode(text, disallowed_special=())) > 2  # not two special tokens


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_known_strings(name: str) -> None:
    encoding = get_encoding(name)
    assert len(encoding.encode("hello world")) == 2
    assert encoding.decode(encoding.encode(RUSSIAN)) == RUSSIAN


def test_published_token_ids() -> None:
    # From the cookbook "How to count tokens with tiktoken".
    assert get_encoding("cl100k_base").encode("tiktoken is great!") == [
        83,
        1609,
        5963,
        374,
        2294,
        0,
    ]
    assert get_encoding("o200k_base").encode("tiktoken is great!") == [83, 8251, 2488, 382, 2212, 0]


def test_encodings_are_built_once_per_process() -> None:
    assert get_encoding("o200k_base") is get_encoding("o200k_base")


def test_an_unknown_encoding_is_refused() -> None:
    with pytest.raises(VocabularyError, match="cl100k_base, o200k_base"):
        get_encoding("p50k_base")


def test_a_vocabulary_with_the_wrong_hash_is_refused() -> None:
    spec = replace(SPECS["cl100k_base"], sha256="0" * 64)
    with pytest.raises(VocabularyError, match="corrupt"):
        load_ranks(spec)


def test_a_vocabulary_that_is_another_file_is_refused() -> None:
    spec = replace(SPECS["cl100k_base"], file_name=SPECS["o200k_base"].file_name)
    with pytest.raises(VocabularyError, match="corrupt"):
        load_ranks(spec)


def test_a_missing_vocabulary_is_refused() -> None:
    spec = replace(SPECS["cl100k_base"], file_name="missing.tiktoken.gz")
    with pytest.raises(VocabularyError, match="cannot read"):
        load_ranks(spec)


def test_a_vocabulary_that_is_not_gzip_is_refused() -> None:
    spec = replace(SPECS["cl100k_base"], file_name="../data/models.json")
    with pytest.raises(VocabularyError, match="cannot read"):
        load_ranks(spec)


@pytest.mark.parametrize(("name", "size"), [("o200k_base", 199_998), ("cl100k_base", 100_256)])
def test_shipped_vocabularies_are_whole(name: str, size: int) -> None:
    ranks = load_ranks(SPECS[name])
    assert len(ranks) == size
    assert sorted(ranks.values()) == list(range(size))


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_regex_special_tokens_and_hash_match_the_installed_tiktoken(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Our constants mirror `tiktoken_ext.openai_public`; its loader is patched to return our
    ranks (it would download them) and to record the hash it pins."""
    spec = SPECS[name]
    pinned: list[str | None] = []

    def load_tiktoken_bpe(url: str, expected_hash: str | None = None) -> dict[bytes, int]:
        pinned.append(expected_hash)
        assert url.endswith(f"/{name}.tiktoken")
        return load_ranks(spec)

    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", load_tiktoken_bpe)
    theirs = getattr(openai_public, name)()
    assert theirs["name"] == spec.name
    assert theirs["pat_str"] == spec.pat_str
    assert theirs["special_tokens"] == spec.special_tokens
    assert pinned == [spec.sha256]
    reference = tiktoken.Encoding(**theirs)
    ours = get_encoding(name)
    for text in [
        RUSSIAN,
        "hello world",
        "x" * 50 + "\r\n\n  1234567 it's",
        *map(str, COOKBOOK_MESSAGES),
    ]:
        assert ours.encode(text) == reference.encode(text)
