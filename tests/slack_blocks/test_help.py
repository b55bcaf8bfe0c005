from handlers.slack.blocks import help_text
from tests.slack_blocks.checks import SLACK_MAX_SECTION_TEXT, assert_safe_mrkdwn

USAGES = [
    "start [DATASET] [model=M] [epochs=N] [suffix=S] [validation=DATASET] [seed=N]",
    "status [JOB]",
    "list [all]",
    "cancel JOB",
    "events JOB",
    "models",
    "delete MODEL",
    "help",
]


def test_help_documents_every_subcommand():
    text = help_text()
    for usage in USAGES:
        assert f"• `/finetune {usage}`: " in text
    assert "`ds-7`" in text
    assert "newest valid dataset in this channel" in text
    assert "`job-3`" in text
    assert "`ftjob-…`" in text


def test_help_uses_the_configured_command_and_fits_one_section():
    text = help_text("/tune")
    assert "• `/tune cancel JOB`" in text
    assert "/finetune" not in text
    assert len(text) <= SLACK_MAX_SECTION_TEXT
    assert_safe_mrkdwn(text)
