"""Embeds always fit Discord's limits, however much a report holds."""

from __future__ import annotations

import discord

from handlers.discord.render.limits import MAX_EMBEDS, MAX_TOTAL, batches, fitted


def test_a_long_description_is_cut_with_a_mark():
    embed = fitted(discord.Embed(title="t" * 300, description="d" * 5000))
    assert len(embed.description or "") == 4096 and (embed.description or "").endswith("…")
    assert len(embed.title or "") == 256


def test_many_embeds_are_spread_over_messages_within_10_and_6000():
    embeds = [discord.Embed(title=f"#{i}", description="x" * 1500) for i in range(25)]
    groups = batches(embeds)
    assert sum(len(g) for g in groups) == 25
    for group in groups:
        assert len(group) <= MAX_EMBEDS
        assert sum(len(e) for e in group) <= MAX_TOTAL
    assert len(groups) > 3  # 1,500 characters each: at most three fit a message


def test_eleven_small_embeds_need_two_messages():
    assert [len(g) for g in batches([discord.Embed(title=str(i)) for i in range(11)])] == [10, 1]
