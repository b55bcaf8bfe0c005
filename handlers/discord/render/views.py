"""Buttons on tunebot's messages, as persistent `discord.ui.DynamicItem`s.

A button's custom_id carries what it acts on (`tunebot:start:42`), so a click is understood by
any process, also after a restart: discord.py matches the id against each item's template and
builds the item from it (`Client.add_dynamic_items`). The behaviour is set by the listeners
(`handlers.discord.listeners.components`), which subclass nothing here: they register handlers
in `ON_CLICK`, keeping rendering free of services.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import discord

ClickHandler = Callable[[discord.Interaction, "TunebotButton"], Awaitable[None]]
ON_CLICK: dict[str, ClickHandler] = {}
"""The action name (`start`, `fix`, `approve`, `reject`, `use`, `compare`) to what a click
does; `use` and `compare` act on a job (its id) whose model they bind or compare."""


class TunebotButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=(
        r"tunebot:(?P<action>start|fix|approve|reject|use|compare):(?P<target>[0-9]+)"
        r"(?::(?P<workspace>discord:[0-9]+))?"
    ),
):
    """One of tunebot's buttons: an action, the dataset or job id it acts on and, on a button
    that may be clicked outside its server (an approval request in an admin's DMs), the
    workspace: a click in a DM carries no guild to read it from."""

    LABELS: ClassVar[dict[str, tuple[str, discord.ButtonStyle]]] = {
        "start": ("Start fine-tune", discord.ButtonStyle.primary),
        "fix": ("Fix and re-upload", discord.ButtonStyle.secondary),
        "approve": ("Approve", discord.ButtonStyle.success),
        "reject": ("Reject", discord.ButtonStyle.danger),
        "use": ("Use in this channel", discord.ButtonStyle.primary),
        "compare": ("Compare with base", discord.ButtonStyle.secondary),
    }

    def __init__(self, action: str, target: int, workspace: str | None = None) -> None:
        label, style = self.LABELS[action]
        custom_id = f"tunebot:{action}:{target}" + (f":{workspace}" if workspace else "")
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=custom_id))
        self.action = action
        self.target = target
        self.workspace = workspace

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> TunebotButton:
        return cls(match["action"], int(match["target"]), match["workspace"])

    async def callback(self, interaction: discord.Interaction) -> None:
        handler = ON_CLICK.get(self.action)
        if handler is not None:
            await handler(interaction, self)


def buttons(*items: tuple[str, int], workspace: str | None = None) -> discord.ui.View:
    """A view (no timeout) holding tunebot buttons, e.g. `buttons(("start", 7), ("fix", 7))`;
    with `workspace`, each button names it (see `TunebotButton`)."""
    view = discord.ui.View(timeout=None)
    for action, target in items:
        view.add_item(TunebotButton(action, target, workspace))
    return view


START_MODAL = "tunebot:start-modal:"
KEY_MODAL = "tunebot:key-modal"
COMPARE_MODAL = "tunebot:compare-modal:"


class StartModal(discord.ui.Modal):
    """Model, epochs, suffix and seed for a dataset's job. Its submission is handled by custom_id
    (`listeners.components`), not by this object: discord.py keeps open modals in memory only."""

    model: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Base model", custom_id="model", max_length=100
    )
    epochs: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Epochs (empty: the API picks)", custom_id="epochs", required=False, max_length=2
    )
    suffix: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Model name suffix", custom_id="suffix", required=False, max_length=18
    )
    seed: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Seed", custom_id="seed", required=False, max_length=10
    )

    def __init__(self, dataset_id: int, short_id: str, default_model: str) -> None:
        super().__init__(title=f"Fine-tune {short_id}", custom_id=f"{START_MODAL}{dataset_id}")
        self.model.default = default_model


class KeyModal(discord.ui.Modal):
    """This server's OpenAI key, typed once; checked and sealed by a task, never shown again.

    Discord has no password input: what an admin pastes is visible in their own modal while
    they type, and nowhere else. The input has no default, so no key is ever sent back to it.
    """

    key: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="OpenAI API key", custom_id="key", min_length=20, max_length=512
    )

    def __init__(self, *, replacing: bool) -> None:
        super().__init__(title="OpenAI key for this server", custom_id=KEY_MODAL)
        self.key.placeholder = (
            "Replaces the key this server set before"
            if replacing
            else "sk-proj-… (until then: the key of whoever runs tunebot, if any)"
        )


class CompareModal(discord.ui.Modal):
    """The question a job's model and its base model both answer; handled by custom_id."""

    question: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Question", custom_id="question", style=discord.TextStyle.paragraph, max_length=2000
    )

    def __init__(self, job_id: int, short_id: str) -> None:
        super().__init__(
            title=f"Compare {short_id} with its base model", custom_id=f"{COMPARE_MODAL}{job_id}"
        )


def modal_values(interaction: discord.Interaction) -> dict[str, str]:
    """A submitted modal's text inputs by custom_id."""
    values: dict[str, str] = {}
    data: Any = interaction.data or {}
    for row in data.get("components") or []:
        for component in row.get("components") or []:
            if "custom_id" in component:
                values[str(component["custom_id"])] = str(component.get("value") or "")
    return values
