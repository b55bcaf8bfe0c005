"""The `tunebot` command line: validate a file, manage the database, list models."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TimeRemainingColumn
from rich.table import Table

from bot.render_report import print_report
from bot.settings import get_settings
from finetuning.datasets.engine import ValidationSettings, validate_file
from finetuning.datasets.models import UnknownModelError, default_catalog

USAGE_ERROR = 2
PROGRESS_MIN_BYTES = 16 << 20
"""Files smaller than this finish before a progress bar would be readable."""

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Fine-tune OpenAI models from chat."
)
db_app = typer.Typer(no_args_is_help=True, help="Manage tunebot's database.")
app.add_typer(db_app, name="db")
secrets_app = typer.Typer(no_args_is_help=True, help="Manage the key that seals workspace keys.")
app.add_typer(secrets_app, name="secrets")


class _ProgressBar:
    """A progress bar on stderr, only for a terminal and a file big enough to need one."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.enabled = enabled and total >= PROGRESS_MIN_BYTES and sys.stderr.isatty()
        self.progress: Progress | None = None
        self.task: TaskID | None = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.progress is None:
            self.progress = Progress(
                BarColumn(), DownloadColumn(), TimeRemainingColumn(), console=Console(stderr=True)
            )
            self.progress.start()
            self.task = self.progress.add_task("validating", total=total)
        if self.task is not None:
            self.progress.update(self.task, completed=done)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


@app.command()
def validate(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="Training file.")
    ],
    model: Annotated[
        str | None, typer.Option(help="Base model to estimate for (default from settings).")
    ] = None,
    epochs: Annotated[
        int | None, typer.Option(min=1, max=50, help="Epochs (default: as the API picks).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    output: Annotated[
        Path | None, typer.Option(dir_okay=False, help="Write the normalized JSONL here.")
    ] = None,
) -> None:
    """Check a training file (JSONL, JSON, CSV, TSV, XLSX) and estimate its cost.

    Exit status: 0 no errors, 1 errors found, 2 usage error.
    """
    settings = get_settings()
    bar = _ProgressBar(file.stat().st_size, enabled=not json_output)
    try:
        report = validate_file(
            file,
            ValidationSettings(
                model=model,
                default_model=settings.tunebot_default_model,
                epochs=epochs,
                workers=settings.tunebot_workers,
                catalog=default_catalog().with_prices(settings.tunebot_prices),
                normalized_output=output,
            ),
            progress=bar,
        )
    except UnknownModelError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(USAGE_ERROR) from exc
    finally:
        bar.close()
    if json_output:
        sys.stdout.buffer.write(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2))
        sys.stdout.buffer.write(b"\n")
    else:
        print_report(report, Console())
    raise typer.Exit(0 if report.valid else 1)


@app.command()
def models() -> None:
    """List the base models tunebot can estimate for, with their training prices."""
    settings = get_settings()
    catalog = default_catalog().with_prices(settings.tunebot_prices)
    table = Table(title=f"Fine-tunable models (prices of {catalog.read_on})")
    for column in ("model", "aliases", "formats", "max tokens/example", "USD per 1M tokens"):
        table.add_column(column)
    for spec in catalog.models:
        table.add_row(
            spec.id,
            ", ".join(spec.aliases),
            ", ".join(spec.formats),
            f"{spec.max_tokens_per_example:,}",
            f"{spec.training_usd_per_million:g}",
        )
    Console().print(table)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default PORT).")] = None,
    slack: Annotated[bool, typer.Option("--slack", help="Serve Slack (the default).")] = False,
    discord: Annotated[
        bool, typer.Option("--discord", help="Serve Discord; with --slack, both in one process.")
    ] = False,
) -> None:
    """Run the bot: Slack over HTTP on PORT (or Socket Mode when SLACK_APP_TOKEN is set), and/or
    Discord over its gateway. The HTTP server (health, OpenAI webhooks) runs either way."""
    from bot.preflight import missing_settings
    from finetuning.platforms import Platform

    platforms = frozenset({Platform.SLACK} if slack or not discord else set()) | frozenset(
        {Platform.DISCORD} if discord else set()
    )
    settings = get_settings()
    missing = missing_settings(settings, platforms)
    if missing:
        typer.echo("tunebot cannot start; these settings are missing:", err=True)
        for setting in missing:
            typer.echo(f"  {setting.name}: {setting.where}", err=True)
        typer.echo("Set them in .env (see .env.example) or the environment.", err=True)
        raise typer.Exit(USAGE_ERROR)
    from bot.serving import run_server

    run_server(
        settings, host=host or settings.host, port=port or settings.port, platforms=platforms
    )


@app.command()
def manifest(
    url: Annotated[
        str, typer.Option(help="Public base URL of the server (HTTP mode).")
    ] = "https://tunebot.example.com",
    socket_mode: Annotated[bool, typer.Option(help="Use Socket Mode (no public URL).")] = False,
) -> None:
    """Print the Slack app manifest to paste at api.slack.com/apps → Create New App."""
    from handlers.slack.manifest import manifest_yaml

    typer.echo(manifest_yaml(url=url, socket_mode=socket_mode), nl=False)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply database migrations (the server does this at start too)."""
    from storage.migrate import upgrade

    url = get_settings().database_url
    upgrade(url, revision)
    typer.echo(f"database at {revision}")


@secrets_app.command("new-key")
def secrets_new_key() -> None:
    """Print a new key for TUNEBOT_SECRET_KEY (put it first to rotate; keep the old after it)."""
    from finetuning.credentials import new_secret_key

    typer.echo(new_secret_key())


@secrets_app.command("rotate")
def secrets_rotate() -> None:
    """Reseal every stored workspace key with the first TUNEBOT_SECRET_KEY, so that the keys
    after it can be dropped."""
    from finetuning.audit import AuditLog
    from finetuning.credentials import SecretBox, SecretBoxError, WorkspaceKeys
    from storage.db import make_engine, make_session_factory
    from storage.migrate import upgrade

    settings = get_settings()
    if not settings.tunebot_secret_key:
        typer.echo("TUNEBOT_SECRET_KEY is not set: there is nothing to rotate.", err=True)
        raise typer.Exit(USAGE_ERROR)
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        factory = make_session_factory(engine)
        keys = WorkspaceKeys(
            factory, SecretBox(settings.tunebot_secret_key), audit=AuditLog(factory)
        )
        resealed = keys.rotate()
    except SecretBoxError as exc:
        typer.echo(f"nothing was changed: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    typer.echo(f"resealed {resealed} workspace key(s) with the first key")


if __name__ == "__main__":
    app()
