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
