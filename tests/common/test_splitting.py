"""Cutting long text at a platform's limit: boundaries, tokens kept whole, fences balanced."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.common.splitting import fits, open_fence, split_once, split_text

FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,}).*$", re.MULTILINE)


def test_splitting_prefers_paragraphs_then_lines_then_spaces() -> None:
    para = "word " * 30
    text = f"{para.strip()}\n\n{para.strip()}\nline two\n\n{para.strip()}"
    parts = split_text(text, 200)
    assert parts[0] == para.strip()
    assert all(len(part) <= 200 for part in parts)
    assert split_text("x" * 450, 200) == ["x" * 200, "x" * 200, "x" * 50]
    assert split_text("short", 200) == ["short"]


def test_splitting_never_cuts_a_link_or_an_escape() -> None:
    link = "<https://example.com/a|a label with many words in it>"
    text = "intro " * 20 + link + " outro"
    parts = split_text(text, len("intro " * 20) + 20)
    assert any(link in part for part in parts)
    escaped = "a" * 99 + "&amp;" + "b" * 50
    assert "".join(split_text(escaped, 102)) == escaped
    assert all("&amp;" in part or "&" not in part for part in split_text(escaped, 102))


def test_a_cut_inside_a_code_fence_closes_it_and_the_next_part_reopens_it() -> None:
    code = "\n".join(f"value_{i} = compute({i}) ** 2" for i in range(60))
    text = f"Intro.\n\n```python\n{code}\n```\n\nDone."
    parts = split_text(text, 500)
    assert len(parts) > 3
    for part in parts:
        assert len(part) <= 500 and open_fence(part) is None
    assert all(part.startswith("```python\n") for part in parts[1:-1])
    assert parts[-1].endswith("Done.")


def test_a_split_that_must_keep_what_was_sent_cuts_after_it() -> None:
    sent = "First paragraph, already in Slack. " * 3
    text = sent + "more text " * 30
    head, rest = split_once(text, 200, keep=len(sent))
    assert head.startswith(sent.rstrip()) and len(head) <= 200
    assert (head + " " + rest).split() == text.split()


_markdownish = st.lists(
    st.one_of(
        st.sampled_from(["```python", "```", "~~~", "", "- item", "**bold**", "a < b & c"]),
        st.text(alphabet="ab `*_<>&\n", max_size=60),
    ),
    max_size=40,
).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(text=_markdownish, limit=st.integers(min_value=40, max_value=300))
def test_split_parts_fit_are_balanced_and_lose_nothing(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    assert all(len(part) <= limit for part in parts)
    assert all(open_fence(part) is None for part in parts[:-1])

    def words(value: str) -> list[str]:
        return FENCE.sub("", value).split()

    assert [w for part in parts for w in words(part)] == words(text)


def test_a_discord_mention_token_is_never_cut() -> None:
    mention = "<@900000000000000012>"
    text = "x " * 45 + mention + " tail"
    parts = split_text(text, 100)
    assert any(mention in part for part in parts)


def test_fits_keeps_room_to_close_an_open_fence() -> None:
    assert fits("a" * 100, 100)
    assert not fits("```\n" + "a" * 96, 100)
    assert fits("```\n" + "a" * 92, 100)


def test_a_fence_reopened_carries_its_language_and_closes_where_it_was_cut() -> None:
    text = "```python\n" + "\n".join(f"line_{i} = {i}" for i in range(40)) + "\n```"
    head, rest = split_once(text, 120)
    assert head.endswith("\n```") and rest.startswith("```python\n")
    assert open_fence(head) is None and open_fence(rest) is None
