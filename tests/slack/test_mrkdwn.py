"""Model Markdown to Slack mrkdwn, and converted answers cut into messages Slack accepts."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from handlers.common.splitting import split_text
from handlers.slack.blocks.limits import MAX_MESSAGE_TEXT
from handlers.slack.mrkdwn import to_mrkdwn
from tests.emulators.slack_emulator import ALICE, GENERAL, SlackEmulator


@pytest.mark.parametrize(
    ("markdown", "mrkdwn"),
    [
        ("**bold** and *it* and _it_ and ~~gone~~", "*bold* and _it_ and _it_ and ~gone~"),
        ("***both***", "_*both*_"),
        ("# Title\n## Sub **bold** part", "*Title*\n\n*Sub bold part*"),
        ("See [the docs](https://x.org/a_(b)) now", "See <https://x.org/a_(b)|the docs> now"),
        ("[a > b](http://e.com/?a=1&b=2)", "<http://e.com/?a=1&amp;b=2|a &gt; b>"),
        ("<https://auto.link>", "<https://auto.link>"),
        ("![chart](http://i.png)", "<http://i.png|chart>"),
        (
            "AT&T: 3 < 4 > 2 <!channel> <@U0ALICE>",
            "AT&amp;T: 3 &lt; 4 &gt; 2 &lt;!channel&gt; &lt;@U0ALICE&gt;",
        ),
        ("Use `**kwargs`, `a<b>` and `x_y_z`", "Use `**kwargs`, `a&lt;b&gt;` and `x_y_z`"),
        ("- one\n  - two\n    - three\n- four", "• one\n  ◦ two\n    ▪ three\n• four"),
        ("3. three\n4. four\n   - sub", "3. three\n4. four\n   ◦ sub"),
        ("- loose\n\n- list", "• loose\n\n• list"),
        ("> quoted **b**\n> more\n\nafter", "> quoted *b*\n> more\n\nafter"),
        ("a\n\n---\n\nb", "a\n\n──────────\n\nb"),
        ("**bold\nacross lines**", "*bold*\n*across lines*"),
        ("unfinished **bol", "unfinished **bol"),
        ("html <b>stays</b> text", "html &lt;b&gt;stays&lt;/b&gt; text"),
    ],
)
def test_markdown_becomes_mrkdwn(markdown: str, mrkdwn: str) -> None:
    assert to_mrkdwn(markdown) == mrkdwn


def test_code_is_left_as_written_apart_from_slacks_three_escapes() -> None:
    markdown = (
        "Run this:\n\n```python\nx = a ** 2 if a < b else **kw  # __init__ ~~no~~\n"
        "print('<!here>')\n```\n\nand `**not bold**`."
    )
    assert to_mrkdwn(markdown) == (
        "Run this:\n\n```\nx = a ** 2 if a &lt; b else **kw  # __init__ ~~no~~\n"
        "print('&lt;!here&gt;')\n```\n\nand `**not bold**`."
    )


@pytest.mark.parametrize(
    ("markdown", "code"),
    [
        ("1. step\n   ```bash\n   echo **hi** > out\n   ```\n2. next", "echo **hi** &gt; out"),
        ("~~~\n**x** > y_z_\n~~~", "**x** &gt; y_z_"),
        ("```c++\nint *p = *q; // **x**\n```", "int *p = *q; // **x**"),
        ("    indented **code** > ~~here~~", "indented **code** &gt; ~~here~~"),
    ],
)
def test_every_kind_of_code_block_stays_code(markdown: str, code: str) -> None:
    assert re.findall(r"```\n(.*?)\n```", to_mrkdwn(markdown), re.DOTALL) == [code]


def test_a_table_becomes_an_aligned_grid_in_a_code_block() -> None:
    rendered = to_mrkdwn("| model | loss |\n|---|---|\n| ft:a | 0.25 |\n| base & co | 1.5 |")
    assert rendered == (
        "```\nmodel     | loss\n----------+-----\nft:a      | 0.25\nbase &amp; co | 1.5\n```"
    )


def test_an_answer_cut_off_inside_a_code_fence_still_renders_closed() -> None:
    rendered = to_mrkdwn("Here:\n```python\nfor i in range(3):\n    print(i < 2")
    assert rendered == "Here:\n\n```\nfor i in range(3):\n    print(i &lt; 2\n```"
    assert to_mrkdwn("Here:\n```python\n") == "Here:"  # an empty block is not shown yet


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


def test_a_long_converted_answer_posts_as_messages_slack_accepts(slack: SlackEmulator) -> None:
    client = WebClient(token=slack.bot_token, base_url=slack.api_url, timeout=5)
    parent = slack.post_as_user(ALICE, GENERAL, "explain")
    answer = "\n\n".join(
        f"## Step {n}\n\nUse **care** with `x<{n}>` & friends.\n\n```sh\necho {n} > out\n```"
        for n in range(120)
    )
    parts = split_text(to_mrkdwn(answer), MAX_MESSAGE_TEXT)
    assert len(parts) >= 3
    for part in parts:
        client.chat_postMessage(channel=GENERAL, thread_ts=parent, text=part)
    replies = slack.messages(GENERAL, thread_ts=parent)[1:]
    assert [m.text for m in replies] == parts
    assert all(len(m.text) <= MAX_MESSAGE_TEXT and m.text.count("```") % 2 == 0 for m in replies)
    assert "*Step 119*" in replies[-1].text
