"""A crash loses nothing and repeats nothing, on Discord: `tunebot serve --discord` is killed
with SIGKILL (no shutdown code runs) and started again on the same database, so each test has a
deployment of its own (`discord_bot`).

Discord does not send a gateway event again to a new session, so what the bot has received is
safe once its task row is written: the tests kill the process right after that, with the work
itself still ahead (held up at Discord).
"""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Dataset, Task
from tests.e2e.discord.test_jobs import QUIET, TIMEOUT, notices, shown, start_job, the_notice
from tests.e2e.discord_deployment import DiscordDeployment, wait_connected
from tests.e2e.helpers import chat_jsonl, reading, stays
from tests.emulators.discord_emulator import ALICE, GENERAL

FETCH_MESSAGE = "GET /channels/{channel_id}/messages/{message_id}"


def tasks(d: DiscordDeployment, kind: str) -> list[str]:
    """The statuses of the task rows of `kind`."""
    with reading(d.database_url) as session:
        return list(session.scalars(select(Task.status).where(Task.kind == kind)))


def datasets(d: DiscordDeployment) -> int:
    with reading(d.database_url) as session:
        return int(session.scalar(select(func.count()).select_from(Dataset)) or 0)


def restart_after_kill(d: DiscordDeployment) -> None:
    d.bot.start()
    wait_connected(d.discord, d.bot)


def test_a_file_received_right_before_a_crash_is_reported_once_after_the_restart(
    discord_bot: DiscordDeployment,
):
    d = discord_bot
    d.discord.inject(FETCH_MESSAGE, delay=5.0)  # the intake's first call: the work is ahead
    posted = d.discord.post(ALICE, GENERAL, "", files=[("crash.jsonl", chat_jsonl())])
    d.discord.wait_for(lambda: tasks(d, "discord.intake"), TIMEOUT)
    d.bot.kill()
    assert not d.discord.threads(GENERAL), "the crash came before the file was looked at"

    restart_after_kill(d)

    def reports() -> list[object]:
        return [m for m in d.discord.bot_messages(posted.id) if m.embeds]

    d.discord.wait_for(reports, TIMEOUT)
    assert stays(lambda: len(d.discord.bot_messages(posted.id)) == 1, QUIET)
    assert len(d.discord.threads(GENERAL)) == 1
    assert datasets(d) == 1
    assert tasks(d, "discord.intake") == ["done"]


def test_a_job_that_ends_while_the_bot_is_down_gets_one_notice_and_its_message_edited(
    discord_bot: DiscordDeployment,
):
    d = discord_bot
    started = start_job(d)
    d.openai.set_status(started.provider_id, "running")
    shown(d, started, "running")
    d.bot.kill()
    d.openai.finish(started.provider_id)
    assert notices(d, started) == []

    restart_after_kill(d)

    notice = the_notice(d, started)
    assert "succeeded." in notice.content and notice.attachment_ids, "with its loss chart"
    assert shown(d, started, "succeeded").id == started.message
    thread = d.discord.bot_messages(started.thread)
    assert [m.id for m in thread][1:] == [started.message, notice.id], (
        "the report, the job's one message (edited), the notice: nothing else"
    )
