"""Slack's size limits, in one place, so every renderer stays inside the same walls.

Slack rejects a whole message (`invalid_blocks`, `msg_blocks_too_long`) when one part is too big,
so a report that grows with the user's data must be cut by us, not by Slack.
"""

from __future__ import annotations

MAX_BLOCKS = 50
"""Blocks in one message."""

MAX_SECTION_TEXT = 3000
"""Characters in a section's text."""

MAX_FIELD_TEXT = 2000
"""Characters in one of a section's fields."""

MAX_FIELDS = 10
"""Fields in one section."""

MAX_HEADER_TEXT = 150
"""Characters in a header block."""

MAX_CONTEXT_TEXT = 3000
"""Characters in one text element of a context block."""

MESSAGE_TEXT_BUDGET = 10_000
"""Characters of text across all blocks of one message. Undocumented: Slack answers
`msg_blocks_too_long` somewhere above 13,000 characters in all, well before 50 full sections."""

FALLBACK_TEXT_LIMIT = 300
"""The notification text: a sentence, not a copy of the blocks."""

MAX_OPTIONS = 100
"""Options in a static select."""

MAX_OPTION_TEXT = 75
"""Characters of an option's label."""

MAX_OPTION_VALUE = 150
"""Characters of an option's value."""

MAX_MESSAGE_TEXT = 3_900
"""Characters of mrkdwn in one message of a reply posted and then edited with chat.update. Slack's
docs speak of truncating at 40,000, but `text` past about 4,000 characters is refused in practice
(`msg_too_long`), so a long answer continues in another message."""

STREAM_CALL_MARKDOWN = 12_000
"""Characters of `markdown_text` in one chat.startStream / appendStream / stopStream call."""

STREAM_MESSAGE_MARKDOWN = 11_000
"""Characters of markdown one natively streamed message holds in all. Undocumented: Slack answers
`msg_too_long` once a stream's text passes about 12,000 characters in total, so a long answer
continues in a new message, with room left for the line that closes an open code fence. Kept
below STREAM_CALL_MARKDOWN so a message's text always goes in one call."""

EDITS_PER_MINUTE: dict[str, int] = {"chat.update": 50, "chat.appendStream": 100}
"""What one workspace lets an app spend on the calls that grow a streamed reply: chat.update is
a Tier 3 method (50+ per minute), chat.appendStream is assumed Tier 4 (100+). Every reply in the
workspace draws on the same allowance; a reply's first and last calls always go."""
