"""Interactions through the Discord emulator and the real discord.py: slash commands with
subcommands, autocomplete, buttons, modals, deferrals, followups, and Discord's rules on
acknowledgements (40060 twice, 10062 after 3 seconds)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import discord
import pytest
from discord import app_commands

from tests.emulators.discord_emulator import ADMIN, ALICE, BOB, GENERAL, GUILD_ID, DiscordEmulator
from tests.emulators.discord_harness import BotHarness, running_bot

GUILD = discord.Object(GUILD_ID)
DATASETS = ["ds-1", "ds-2", "ds-10"]
LOADING = 1 << 7


@pytest.fixture
def emulator() -> Iterator[DiscordEmulator]:
    with DiscordEmulator("interactions-token") as running:
        yield running


@pytest.fixture
def bot(emulator: DiscordEmulator) -> Iterator[BotHarness]:
    with running_bot(emulator) as harness:
        yield harness


class Seen:
    """What the bot's callbacks observed, for the test thread to assert on."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.errors: list[BaseException] = []


def finetune_group(seen: Seen, start_behaviour) -> app_commands.Group:
    group = app_commands.Group(name="finetune", description="Fine-tune OpenAI models")

    @group.command(name="start", description="Start a fine-tuning job")
    @app_commands.describe(dataset="The dataset", epochs="Training epochs")
    async def start(interaction: discord.Interaction, dataset: str, epochs: int = 3) -> None:
        seen.calls.append({"dataset": dataset, "epochs": epochs, "user": interaction.user})
        try:
            await start_behaviour(interaction, dataset, epochs)
        except Exception as error:
            seen.errors.append(error)

    @start.autocomplete("dataset")
    async def datasets(interaction: discord.Interaction, current: str):
        return [app_commands.Choice(name=d, value=d) for d in DATASETS if d.startswith(current)]

    @group.command(name="status", description="Jobs in this channel")
    async def status(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("no jobs", ephemeral=True)

    return group


def install(bot: BotHarness, seen: Seen, start_behaviour) -> None:
    bot.tree.add_command(finetune_group(seen, start_behaviour), guild=GUILD)
    bot.run(bot.tree.sync(guild=GUILD))


async def reply_started(interaction: discord.Interaction, dataset: str, epochs: int) -> None:
    await interaction.response.send_message(f"Started {dataset} for {epochs} epochs")


def post_json(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


# -- registration --------------------------------------------------------------------------------


def test_sync_registers_the_group_and_its_subcommands_as_a_guild_command(emulator, bot):
    install(bot, Seen(), reply_started)
    (command,) = emulator.commands(guild=True)
    assert command.name == "finetune" and emulator.commands(guild=False) == []
    start = next(o for o in command.options if o["name"] == "start")
    assert start["type"] == 1
    dataset, epochs = start["options"]
    assert (dataset["name"], dataset["type"], dataset["required"]) == ("dataset", 3, True)
    assert dataset["autocomplete"] is True
    assert (epochs["name"], epochs["type"], epochs.get("required", False)) == ("epochs", 4, False)
    # A second sync (bulk overwrite) keeps the command's id, as Discord does.
    bot.run(bot.tree.sync(guild=GUILD))
    assert [c.id for c in emulator.commands(guild=True)] == [command.id]


def test_global_commands_are_registered_apart_from_guild_ones(emulator, bot):
    bot.tree.add_command(finetune_group(Seen(), reply_started))
    registered = bot.run(bot.tree.sync())
    assert [c.name for c in registered] == ["finetune"]
    assert [c.name for c in emulator.commands(guild=False)] == ["finetune"]
    assert emulator.commands(guild=True) == []


def test_a_bad_command_name_is_refused_with_50035(emulator, bot):
    from discord.http import Route

    route = Route("POST", "/applications/{app}/commands", app=emulator.application_id)
    with pytest.raises(discord.HTTPException) as caught:
        bot.run(bot.client.http.request(route, json={"name": "Fine Tune", "description": "x"}))
    assert caught.value.code == 50035
    assert "In name: Command name is invalid" in caught.value.text


# -- application commands ------------------------------------------------------------------------


def test_a_subcommand_arrives_with_typed_options_and_is_answered(emulator, bot):
    seen = Seen()
    install(bot, seen, reply_started)
    invoked = emulator.run_command(ALICE, GENERAL, "finetune start", dataset="ds-2", epochs=5)
    answered = emulator.wait_for_callback(invoked.id)
    assert seen.calls[0]["dataset"] == "ds-2" and seen.calls[0]["epochs"] == 5
    assert isinstance(seen.calls[0]["user"], discord.Member)
    assert answered.callback.type == 4
    message = emulator.message(answered.original_message_id)
    assert message.content == "Started ds-2 for 5 epochs"
    assert message.type == 20 and message.interaction_id == invoked.id  # CHAT_INPUT_COMMAND


def test_defer_then_edit_the_original_replaces_the_thinking_message(emulator, bot):
    seen = Seen()

    async def slow(interaction: discord.Interaction, dataset: str, epochs: int) -> None:
        await interaction.response.defer(thinking=True)
        await asyncio.sleep(0.05)
        await interaction.edit_original_response(content=f"Job for {dataset} submitted")

    install(bot, seen, slow)
    invoked = emulator.run_command(ALICE, GENERAL, "finetune start", dataset="ds-1")
    original = emulator.wait_for(
        lambda: (
            (i := emulator.interaction(invoked.id)).original_message_id
            and emulator.message(i.original_message_id).edits
            and emulator.message(i.original_message_id)
        )
    )
    assert emulator.interaction(invoked.id).callback.type == 5
    assert original.content == "Job for ds-1 submitted"
    assert original.edits[0].flags & LOADING and not original.flags & LOADING
    assert seen.errors == []


def test_followups_after_a_deferral_fill_the_thinking_message_then_add_messages(emulator, bot):
    seen = Seen()
    sent: list[discord.WebhookMessage] = []

    async def followups(interaction: discord.Interaction, dataset: str, epochs: int) -> None:
        await interaction.response.defer(thinking=True)
        sent.append(await interaction.followup.send("first", wait=True))
        sent.append(await interaction.followup.send("second", wait=True))
        sent.append(await interaction.followup.send("just you", ephemeral=True, wait=True))

    install(bot, seen, followups)
    invoked = emulator.run_command(ALICE, GENERAL, "finetune start", dataset="ds-1")
    emulator.wait_for(lambda: len(sent) == 3)
    answered = emulator.interaction(invoked.id)
    assert sent[0].id == answered.original_message_id
    assert [m.content for m in emulator.messages(GENERAL)] == ["first", "second"]
    assert [m.content for m in emulator.ephemerals(ALICE)] == ["just you"]
    assert emulator.ephemerals(BOB) == []


def test_ephemeral_followups_are_edited_through_the_webhook_while_the_token_lasts(emulator, bot):
    seen = Seen()
    done: list[bool] = []

    async def streamed(interaction: discord.Interaction, dataset: str, epochs: int) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        hook = interaction.followup
        first = await hook.send("Th", ephemeral=True, wait=True)
        await hook.edit_message(first.id, content="The answer")
        second = await hook.send("goes", ephemeral=True, wait=True)
        await hook.edit_message(second.id, content="goes on")
        for stranger in (interaction.id, 1):
            try:
                await hook.edit_message(stranger, content="not this interaction's")
            except discord.HTTPException as error:
                seen.errors.append(error)
        emulator.token_ttl = 0.0
        try:
            await hook.edit_message(first.id, content="too late")
        except discord.HTTPException as error:
            seen.errors.append(error)
        done.append(True)

    install(bot, seen, streamed)
    invoked = emulator.run_command(ALICE, GENERAL, "finetune start", dataset="ds-1")
    emulator.wait_for(lambda: done)
    first, second = emulator.ephemerals(ALICE)
    assert first.id == emulator.interaction(invoked.id).original_message_id
    assert [v.content for v in first.edits] == ["", "Th"] and first.content == "The answer"
    assert [v.content for v in second.edits] == ["goes"] and second.content == "goes on"
    assert [(e.status, e.code) for e in seen.errors] == [(404, 10008), (404, 10008), (401, 50027)]
    assert emulator.messages(GENERAL) == [] and emulator.ephemerals(BOB) == []


def test_an_ephemeral_answer_is_seen_only_by_its_user(emulator, bot):
    install(bot, Seen(), reply_started)
    invoked = emulator.run_command(BOB, GENERAL, "finetune status")
    emulator.wait_for_callback(invoked.id)
    assert emulator.messages(GENERAL) == []
    assert [m.content for m in emulator.ephemerals(BOB)] == ["no jobs"]


def test_a_person_cannot_invoke_what_was_not_registered(emulator, bot):
    install(bot, Seen(), reply_started)
    with pytest.raises(LookupError):
        emulator.run_command(ALICE, GENERAL, "finetune launch")
    with pytest.raises(LookupError):
        emulator.run_command(ALICE, GENERAL, "finetune start", dataset="ds-1", colour="red")
    with pytest.raises(ValueError):
        emulator.run_command(ALICE, GENERAL, "finetune start")  # dataset is required
    with pytest.raises(LookupError):
        emulator.run_command(ALICE, GENERAL, "train")


def test_interactions_carry_the_members_roles_and_permissions(emulator, bot):
    seen = Seen()
    install(bot, seen, reply_started)
    for user in (ADMIN, BOB):
        emulator.wait_for_callback(
            emulator.run_command(user, GENERAL, "finetune start", dataset="d").id
        )
    admin, bob = (call["user"] for call in seen.calls)
    assert admin.guild_permissions.administrator and [r.name for r in admin.roles[1:]] == ["Admins"]
    assert not bob.guild_permissions.administrator and bob.roles[1:] == []


# -- autocomplete --------------------------------------------------------------------------------


def test_autocomplete_gets_the_choices_for_what_was_typed(emulator, bot):
    install(bot, Seen(), reply_started)
    typed = emulator.autocomplete(ALICE, GENERAL, "finetune start", "dataset", dataset="ds-1")
    answered = emulator.wait_for_callback(typed.id)
    assert answered.callback.type == 8
    assert [c["name"] for c in answered.choices] == ["ds-1", "ds-10"]
    with pytest.raises(LookupError):  # epochs does not autocomplete
        emulator.autocomplete(ALICE, GENERAL, "finetune start", "epochs", dataset="ds", epochs="1")


# -- buttons and modals --------------------------------------------------------------------------


class SuffixModal(discord.ui.Modal, title="Start fine-tune"):
    suffix = discord.ui.TextInput(label="Model suffix", custom_id="suffix")

    def __init__(self, seen: Seen) -> None:
        super().__init__()
        self.seen = seen

    async def on_submit(self, interaction: discord.Interaction) -> None:
        self.seen.calls.append({"suffix": self.suffix.value})
        await interaction.response.send_message(f"Starting with suffix {self.suffix.value}")


def post_start_button(bot: BotHarness, seen: Seen, on_click) -> int:
    class StartView(discord.ui.View):
        @discord.ui.button(label="Start fine-tune", custom_id="start:ds-1")
        async def start(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
            try:
                await on_click(interaction)
            except Exception as error:
                seen.errors.append(error)

    async def post() -> int:
        view = StartView()
        message = await bot.client.get_channel(GENERAL).send("Dataset ds-1 is valid", view=view)
        return message.id

    return bot.run(post())


def test_a_button_opens_a_modal_whose_submit_reaches_the_bot(emulator, bot):
    seen = Seen()
    message_id = post_start_button(
        bot, seen, lambda interaction: interaction.response.send_modal(SuffixModal(seen))
    )
    click = emulator.click(ALICE, message_id, "start:ds-1")
    opened = emulator.wait_for_callback(click.id)
    assert opened.callback.type == 9 and opened.modal["title"] == "Start fine-tune"
    submit = emulator.submit_modal(ALICE, click.id, {"suffix": "support-v2"})
    answered = emulator.wait_for_callback(submit.id)
    assert seen.calls == [{"suffix": "support-v2"}]
    assert (
        emulator.message(answered.original_message_id).content == "Starting with suffix support-v2"
    )
    with pytest.raises(LookupError):  # only the person the modal was opened for can submit it
        emulator.submit_modal(BOB, click.id, {"suffix": "x"})


class KeyLikeModal(discord.ui.Modal, title="OpenAI key"):
    key = discord.ui.TextInput(label="Key", custom_id="key", min_length=20, max_length=30)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Checking", ephemeral=True)


def test_a_value_outside_an_inputs_lengths_cannot_be_submitted(emulator, bot):
    seen = Seen()
    message_id = post_start_button(
        bot, seen, lambda interaction: interaction.response.send_modal(KeyLikeModal())
    )
    click = emulator.click(ALICE, message_id, "start:ds-1")
    emulator.wait_for_callback(click.id)

    for value in ("k" * 19, "k" * 31):
        with pytest.raises(ValueError, match="takes 20 to 30 characters"):
            emulator.submit_modal(ALICE, click.id, {"key": value})
    submit = emulator.submit_modal(ALICE, click.id, {"key": "k" * 20})
    assert emulator.wait_for_callback(submit.id).callback.type == 4


def test_a_click_can_update_the_message_it_is_on(emulator, bot):
    seen = Seen()

    async def started(interaction: discord.Interaction) -> None:
        await interaction.response.edit_message(content="Started job-1", view=None)

    message_id = post_start_button(bot, seen, started)
    click = emulator.click(BOB, message_id, "start:ds-1")
    assert emulator.wait_for_callback(click.id).callback.type == 7
    message = emulator.message(message_id)
    assert (message.content, message.components) == ("Started job-1", [])
    assert message.edits[0].components[0]["components"][0]["custom_id"] == "start:ds-1"
    with pytest.raises(LookupError):  # the button is gone
        emulator.click(BOB, message_id, "start:ds-1")


# -- Discord's acknowledgement rules -------------------------------------------------------------


def test_a_second_acknowledgement_is_40060(emulator, bot):
    install(bot, Seen(), reply_started)
    invoked = emulator.run_command(ALICE, GENERAL, "finetune start", dataset="ds-1")
    emulator.wait_for_callback(invoked.id)
    url = f"{emulator.api_url}/interactions/{invoked.id}/{invoked.token}/callback"
    status, body = post_json(url, {"type": 4, "data": {"content": "again"}})
    assert (status, body) == (
        400,
        {"message": "Interaction has already been acknowledged.", "code": 40060},
    )
    status, body = post_json(url.replace(invoked.token, "forged"), {"type": 4, "data": {}})
    assert (status, body["code"]) == (404, 10062)


def test_an_acknowledgement_after_the_window_is_10062_unknown_interaction(emulator, bot):
    seen = Seen()
    emulator.ack_window = 0.2

    async def too_slow(interaction: discord.Interaction, dataset: str, epochs: int) -> None:
        await asyncio.sleep(0.4)
        await interaction.response.send_message("late")

    install(bot, seen, too_slow)
    invoked = emulator.run_command(ALICE, GENERAL, "finetune start", dataset="ds-1")
    emulator.wait_for(lambda: seen.errors)
    assert isinstance(seen.errors[0], discord.NotFound) and seen.errors[0].code == 10062
    assert emulator.interaction(invoked.id).refused_callbacks == [(4, 10062)]
    assert emulator.messages(GENERAL) == []


def test_a_followup_before_any_acknowledgement_is_unknown_webhook(emulator, bot):
    seen = Seen()

    async def followup_first(interaction: discord.Interaction, dataset: str, epochs: int) -> None:
        await interaction.followup.send("too early")

    install(bot, seen, followup_first)
    emulator.run_command(ALICE, GENERAL, "finetune start", dataset="ds-1")
    emulator.wait_for(lambda: seen.errors)
    assert isinstance(seen.errors[0], discord.NotFound) and seen.errors[0].code == 10015


def test_a_callback_type_must_fit_the_interaction(emulator, bot):
    from discord.http import Route

    # A button discord.py has no view for: the bot leaves its clicks unanswered.
    raw_row = {"type": 1, "components": [{"type": 2, "style": 1, "label": "Go", "custom_id": "x"}]}
    route = Route("POST", "/channels/{channel_id}/messages", channel_id=GENERAL)
    posted = bot.run(bot.client.http.request(route, json={"content": "c", "components": [raw_row]}))
    click = emulator.click(ALICE, int(posted["id"]), "x")
    url = f"{emulator.api_url}/interactions/{click.id}/{click.token}/callback"
    status, body = post_json(url, {"type": 8, "data": {"choices": []}})
    assert (status, body["code"]) == (400, 50035) and "type" in body["errors"]
    status, body = post_json(url, {"type": 9, "data": {"title": "t" * 46, "custom_id": "m"}})
    assert (status, body["code"]) == (400, 50035) and "title" in body["errors"]["data"]
    status, _ = post_json(url + "?with_response=true", {"type": 6})
    assert status == 200 and emulator.interaction(click.id).original_message_id == int(posted["id"])


def test_a_role_change_shows_in_the_next_interactions_permissions(emulator, bot):
    from tests.emulators.discord_emulator import ADMINS_ROLE

    seen = Seen()
    install(bot, seen, reply_started)
    emulator.wait_for_callback(emulator.run_command(BOB, GENERAL, "finetune start", dataset="d").id)
    emulator.set_member_roles(BOB, [ADMINS_ROLE])
    emulator.wait_for_callback(emulator.run_command(BOB, GENERAL, "finetune start", dataset="d").id)
    before, after = (call["user"] for call in seen.calls)
    assert not before.guild_permissions.administrator
    assert after.guild_permissions.administrator


def test_a_select_menu_choice_reaches_the_bot(emulator, bot):
    picked: list[list[str]] = []

    class ModelPicker(discord.ui.View):
        @discord.ui.select(
            custom_id="model",
            options=[discord.SelectOption(label=m, value=m) for m in ("gpt-4o-mini", "gpt-4.1")],
        )
        async def model(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
            picked.append(select.values)
            await interaction.response.defer()

    async def post() -> int:
        return (await bot.client.get_channel(GENERAL).send("Base model?", view=ModelPicker())).id

    message_id = bot.run(post())
    chosen = emulator.select(ALICE, message_id, "model", ["gpt-4.1"])
    assert emulator.wait_for_callback(chosen.id).callback.type == 6
    assert picked == [["gpt-4.1"]]
    with pytest.raises(LookupError):
        emulator.select(ALICE, message_id, "model", ["davinci"])


def test_a_persons_edit_and_reply_reach_the_bot(emulator, bot):
    edits: list[tuple[str, str]] = []

    async def on_message_edit(before: discord.Message, after: discord.Message) -> None:
        edits.append((before.content, after.content))

    bot.on(on_message_edit)
    posted = emulator.post(ALICE, GENERAL, "epochs=3")
    emulator.wait_for(lambda: bot.messages)
    emulator.edit(ALICE, posted.id, "epochs=4")
    emulator.wait_for(lambda: edits)
    assert edits == [("epochs=3", "epochs=4")]
    emulator.post(BOB, GENERAL, "me too", reply_to=posted.id)
    reply = emulator.wait_for(lambda: len(bot.messages) == 2 and bot.messages[1])
    assert reply.reference.message_id == posted.id
    with pytest.raises(PermissionError):
        emulator.edit(BOB, posted.id, "not mine")


def test_a_redelivered_interaction_reaches_the_bot_again_with_the_same_id(emulator, bot):
    seen = Seen()
    ids: list[int] = []

    async def answer(interaction: discord.Interaction, dataset: str, epochs: int) -> None:
        ids.append(interaction.id)
        await reply_started(interaction, dataset, epochs)

    install(bot, seen, answer)
    invoked = emulator.run_command(ALICE, GENERAL, "finetune start", dataset="ds-2")
    emulator.wait_for_callback(invoked.id)

    assert emulator.redeliver_interaction(invoked.id) == 1

    emulator.wait_for(lambda: len(seen.errors) == 1)
    assert ids == [invoked.id, invoked.id]
    assert isinstance(seen.errors[0], discord.HTTPException) and seen.errors[0].code == 40060
    assert emulator.interaction(invoked.id).refused_callbacks == [(4, 40060)]
