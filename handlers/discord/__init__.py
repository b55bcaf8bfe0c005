"""The Discord front end (discord.py). So far: pointing discord.py at a configurable API."""
