"""Discord's limits on what a message may carry, checked the way Discord reports them.

Content: 2,000 characters; a nonce 25. Embeds: 10 a message, 6,000 characters across them,
and per-field caps (title 256, description 4,096, 25 fields of 256/1,024, footer 2,048, author
256).
Components: 5 action rows of 5 buttons, custom_id 100, label 80. Files: 25 MiB each (413 with
40005, before the body is looked at). A message with nothing in it is 50006.
"""

from __future__ import annotations

from typing import Any

from tests.emulators.discord import errors
from tests.emulators.discord.errors import FormErrors
from tests.emulators.discord.records import JsonDict

CONTENT_LIMIT = 2000
NONCE_LIMIT = 25
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL_CHARACTERS = 6000
EMBED_FIELD_LIMITS = {"title": 256, "description": 4096}
FIELDS_PER_EMBED = 25
ACTION_ROWS = 5
BUTTONS_PER_ROW = 5
CUSTOM_ID_LIMIT = 100
LABEL_LIMIT = 80
CHOICES_LIMIT = 25
MODAL_TITLE_LIMIT = 45

ACTION_ROW = 1
BUTTON = 2
LINK_BUTTON_STYLE = 5


def _too_long(form: FormErrors, path: tuple[str | int, ...], limit: int) -> None:
    form.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def embed_characters(embed: JsonDict) -> int:
    """The characters Discord counts toward the 6,000 shared by a message's embeds."""
    total = len(str(embed.get("title") or "")) + len(str(embed.get("description") or ""))
    for item in embed.get("fields") or []:
        total += len(str(item.get("name") or "")) + len(str(item.get("value") or ""))
    total += len(str((embed.get("footer") or {}).get("text") or ""))
    total += len(str((embed.get("author") or {}).get("name") or ""))
    return total


def _check_embeds(form: FormErrors, embeds: list[Any]) -> None:
    if len(embeds) > EMBEDS_PER_MESSAGE:
        _too_long(form, ("embeds",), EMBEDS_PER_MESSAGE)
        return
    for index, embed in enumerate(embeds):
        if not isinstance(embed, dict):
            form.add(("embeds", index), "MODEL_TYPE_CONVERT", "Only dictionaries may be used.")
            continue
        for key, limit in EMBED_FIELD_LIMITS.items():
            if len(str(embed.get(key) or "")) > limit:
                _too_long(form, ("embeds", index, key), limit)
        fields = embed.get("fields") or []
        if len(fields) > FIELDS_PER_EMBED:
            _too_long(form, ("embeds", index, "fields"), FIELDS_PER_EMBED)
        for number, item in enumerate(fields):
            for key, limit in (("name", 256), ("value", 1024)):
                value = str(item.get(key) or "")
                if not value:
                    form.add(
                        ("embeds", index, "fields", number, key),
                        "BASE_TYPE_REQUIRED",
                        "This field is required",
                    )
                elif len(value) > limit:
                    _too_long(form, ("embeds", index, "fields", number, key), limit)
    if sum(embed_characters(e) for e in embeds if isinstance(e, dict)) > EMBED_TOTAL_CHARACTERS:
        form.add(
            ("embeds",),
            "MAX_EMBED_SIZE_EXCEEDED",
            f"Embed size exceeds maximum size of {EMBED_TOTAL_CHARACTERS}",
        )


def _check_components(form: FormErrors, rows: list[Any]) -> None:
    if len(rows) > ACTION_ROWS:
        _too_long(form, ("components",), ACTION_ROWS)
        return
    for index, row in enumerate(rows):
        if not isinstance(row, dict) or row.get("type") != ACTION_ROW:
            form.add(
                ("components", index, "type"),
                "UNION_TYPE_CHOICES",
                'Value of field "type" must be one of (1,).',
            )
            continue
        children = row.get("components") or []
        if not 1 <= len(children) <= BUTTONS_PER_ROW:
            form.add(
                ("components", index, "components"),
                "BASE_TYPE_BAD_LENGTH",
                f"Must be between 1 and {BUTTONS_PER_ROW} in length.",
            )
        for number, child in enumerate(children):
            path = ("components", index, "components", number)
            custom_id = child.get("custom_id")
            if child.get("style") != LINK_BUTTON_STYLE and not custom_id:
                form.add((*path, "custom_id"), "BASE_TYPE_REQUIRED", "This field is required")
            if custom_id and len(str(custom_id)) > CUSTOM_ID_LIMIT:
                _too_long(form, (*path, "custom_id"), CUSTOM_ID_LIMIT)
            if len(str(child.get("label") or "")) > LABEL_LIMIT and child.get("type") == BUTTON:
                _too_long(form, (*path, "label"), LABEL_LIMIT)


def check_message(body: JsonDict, *, files: int = 0, editing: bool = False) -> None:
    """Raise Discord's error for the first problem class found (50006 or 50035)."""
    form = FormErrors()
    content = body.get("content")
    if content is not None and len(str(content)) > CONTENT_LIMIT:
        _too_long(form, ("content",), CONTENT_LIMIT)
    nonce = body.get("nonce")
    if isinstance(nonce, str) and len(nonce) > NONCE_LIMIT:
        _too_long(form, ("nonce",), NONCE_LIMIT)
    embeds = body.get("embeds")
    if embeds is not None:
        _check_embeds(form, list(embeds))
    components = body.get("components")
    if components is not None:
        _check_components(form, list(components))
    form.raise_if_any()
    if not editing and not (
        content or embeds or components or files or body.get("sticker_ids") or body.get("poll")
    ):
        raise errors.empty_message()


def check_file_sizes(sizes: list[int], limit: int) -> None:
    if any(size > limit for size in sizes):
        raise errors.entity_too_large()


def check_modal(data: JsonDict) -> None:
    """Title and custom_id required, 1 to 5 rows (action rows or labels: their inner
    component types are left to the front end's tests)."""
    form = FormErrors()
    title = str(data.get("title") or "")
    if not title:
        form.add(("data", "title"), "BASE_TYPE_REQUIRED", "This field is required")
    elif len(title) > MODAL_TITLE_LIMIT:
        _too_long(form, ("data", "title"), MODAL_TITLE_LIMIT)
    if not data.get("custom_id"):
        form.add(("data", "custom_id"), "BASE_TYPE_REQUIRED", "This field is required")
    elif len(str(data["custom_id"])) > CUSTOM_ID_LIMIT:
        _too_long(form, ("data", "custom_id"), CUSTOM_ID_LIMIT)
    rows = list(data.get("components") or [])
    if not 1 <= len(rows) <= ACTION_ROWS:
        form.add(
            ("data", "components"),
            "BASE_TYPE_BAD_LENGTH",
            f"Must be between 1 and {ACTION_ROWS} in length.",
        )
    form.raise_if_any()


def check_choices(choices: list[Any]) -> None:
    if len(choices) > CHOICES_LIMIT:
        raise errors.invalid_form(
            ("data", "choices"),
            "BASE_TYPE_MAX_LENGTH",
            f"Must be {CHOICES_LIMIT} or fewer in length.",
        )
