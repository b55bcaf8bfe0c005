"""Colours shared by tunebot's embeds, so a glance tells a report from a failure."""

from __future__ import annotations

import discord

BRAND = discord.Colour(0x5865F2)
OK = discord.Colour(0x2ECC71)
WARN = discord.Colour(0xF1C40F)
BAD = discord.Colour(0xE74C3C)
QUIET = discord.Colour(0x95A5A6)
