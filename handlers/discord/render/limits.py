"""Discord's message limits, and fitting any number of embeds under them.

A message holds at most 10 embeds whose titles, descriptions, fields, footers and authors add
up to at most 6,000 characters; one description at most 4,096, a title 256, a field's name 256
and value 1,024, a footer 2,048, 25 fields. A report on a file with a mistake on every line must
still go out: descriptions are cut (with a mark) and embeds are spread over several messages.
"""

from __future__ import annotations

import discord

MAX_EMBEDS = 10
MAX_TOTAL = 6000
MAX_DESCRIPTION = 4096
MAX_TITLE = 256
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FIELDS = 25
MAX_FOOTER = 2048
MAX_CONTENT = 2000
CUT = "…"


def cut(text: str, limit: int) -> str:
    """`text` within `limit` characters, marked when something was left out."""
    return text if len(text) <= limit else text[: limit - len(CUT)] + CUT


def fitted(embed: discord.Embed) -> discord.Embed:
    """The embed with every part within its own limit (the total is `batches`' business)."""
    if embed.title:
        embed.title = cut(embed.title, MAX_TITLE)
    if embed.description:
        embed.description = cut(embed.description, MAX_DESCRIPTION)
    fields = embed.fields[:MAX_FIELDS]
    embed.clear_fields()
    for field in fields:
        embed.add_field(
            name=cut(field.name or "\u200b", MAX_FIELD_NAME),
            value=cut(field.value or "\u200b", MAX_FIELD_VALUE),
            inline=bool(field.inline),
        )
    if embed.footer.text:
        embed.set_footer(text=cut(embed.footer.text, MAX_FOOTER), icon_url=embed.footer.icon_url)
    return embed


def batches(embeds: list[discord.Embed]) -> list[list[discord.Embed]]:
    """The embeds, each fitted, grouped into messages of at most 10 and 6,000 characters.

    An embed over 6,000 characters on its own (a full description and many fields) loses
    description characters until it fits.
    """
    groups: list[list[discord.Embed]] = []
    current: list[discord.Embed] = []
    size = 0
    for embed in (fitted(e) for e in embeds):
        length = len(embed)
        if length > MAX_TOTAL and embed.description:
            embed.description = cut(
                embed.description, len(embed.description) - (length - MAX_TOTAL)
            )
            length = len(embed)
        if current and (len(current) == MAX_EMBEDS or size + length > MAX_TOTAL):
            groups.append(current)
            current, size = [], 0
        current.append(embed)
        size += length
    if current:
        groups.append(current)
    return groups
