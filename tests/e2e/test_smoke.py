"""The smallest end-to-end path: a valid file gets its report in its thread."""

import json

from tests.emulators.slack_emulator import ALICE, GENERAL


def chat_lines(count: int) -> bytes:
    lines = [
        json.dumps(
            {
                "messages": [
                    {"role": "system", "content": "You answer briefly."},
                    {"role": "user", "content": f"What is {i} + {i}?"},
                    {"role": "assistant", "content": f"{i + i}"},
                ]
            }
        )
        for i in range(count)
    ]
    return ("\n".join(lines) + "\n").encode()


def test_a_shared_dataset_is_answered_in_its_thread(bot, slack):
    slack.share_file(ALICE, GENERAL, "train.jsonl", chat_lines(60))
    root = slack.messages(GENERAL)[0]
    replies = slack.wait_for(lambda: slack.messages(GENERAL, thread_ts=root.ts)[1:], timeout=15)
    assert "ds-1" in replies[0].text
