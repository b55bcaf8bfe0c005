"""Checks of chat messages, shared by the chat and preference formats.

Categories and their codes follow OpenAI's cookbook notebook for chat data preparation, widened to
what the API accepts today: tool calls, the `tool` and `developer` roles, content parts and
assistant `weight`.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson

Report = Callable[[str, str], None]
"""Where a check says what it found: (code, detail). The caller knows the line."""

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
MESSAGE_KEYS = frozenset(
    {"role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call", "refusal"}
)
EXAMPLE_KEYS = frozenset({"messages", "tools", "parallel_tool_calls", "functions"})
CONTENT_PART_TYPES = frozenset({"text", "image_url", "input_audio", "file"})


def declared_tool_names(example: dict[str, object], report: Report) -> set[str] | None:
    """Names the example declares in `tools` / `functions`; None when it declares none."""
    names: set[str] | None = None
    tools = example.get("tools")
    if tools is not None:
        names = set()
        if not isinstance(tools, list):
            report("invalid_tools", '"tools" must be a list')
        else:
            for index, tool in enumerate(tools, 1):
                function = tool.get("function") if isinstance(tool, dict) else None
                name = function.get("name") if isinstance(function, dict) else None
                if not isinstance(name, str) or not name:
                    report("invalid_tools", f"tool {index} has no function name")
                else:
                    names.add(name)
    functions = example.get("functions")
    if functions is not None:
        names = names if names is not None else set()
        if not isinstance(functions, list):
            report("invalid_tools", '"functions" must be a list')
        else:
            for index, function in enumerate(functions, 1):
                name = function.get("name") if isinstance(function, dict) else None
                if not isinstance(name, str) or not name:
                    report("invalid_tools", f"function {index} has no name")
                else:
                    names.add(name)
    return names


def _check_tool_calls(
    number: int, calls: object, declared: set[str] | None, report: Report
) -> None:
    if not isinstance(calls, list) or not calls:
        report("invalid_tool_call", f"message {number}: tool_calls must be a non-empty list")
        return
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(call, dict) or not isinstance(name, str) or not name:
            report("invalid_tool_call", f"message {number}: a tool call has no function name")
            continue
        if not isinstance(call.get("id"), str):
            report("invalid_tool_call", f"message {number}: tool call {name!r} has no id")
        arguments = function.get("arguments") if isinstance(function, dict) else None
        if not isinstance(arguments, str):
            report("invalid_tool_call", f"message {number}: arguments of {name!r} must be a string")
        else:
            try:
                orjson.loads(arguments)
            except orjson.JSONDecodeError:
                report(
                    "invalid_tool_call",
                    f"message {number}: arguments of {name!r} are not valid JSON",
                )
        if declared is None or name not in declared:
            report("undeclared_tool", f"message {number} calls {name!r}")


def _check_function_call(
    number: int, call: object, declared: set[str] | None, report: Report
) -> None:
    name = call.get("name") if isinstance(call, dict) else None
    if not isinstance(name, str) or not name:
        report("invalid_tool_call", f"message {number}: function_call has no name")
    elif declared is None or name not in declared:
        report("undeclared_tool", f"message {number} calls function {name!r}")


def _has_content(content: object) -> bool:
    if isinstance(content, str):
        return bool(content)
    if isinstance(content, list) and content:
        return all(
            isinstance(part, dict) and part.get("type") in CONTENT_PART_TYPES for part in content
        )
    return False


def check_messages(
    messages: object,
    declared: set[str] | None,
    report: Report,
    *,
    require_assistant: bool,
) -> bool:
    """Check one conversation; True when it has a message the model learns from.

    `require_assistant` is off for a preference example's input, whose answer lies outside it.
    """
    if not isinstance(messages, list) or not messages:
        report("missing_messages_list", "messages must be a non-empty list")
        return False
    has_assistant = False
    trained_assistant = False
    has_system = False
    for number, message in enumerate(messages, 1):
        if not isinstance(message, dict):
            report("data_type", f"message {number} is not an object")
            continue
        role = message.get("role")
        calls = message.get("tool_calls")
        function_call = message.get("function_call")
        makes_call = calls is not None or function_call is not None
        if "role" not in message or ("content" not in message and not makes_call):
            missing = "role" if "role" not in message else "content"
            report("message_missing_key", f'message {number} has no "{missing}"')
        unknown = [key for key in message if key not in MESSAGE_KEYS]
        if unknown:
            report("message_unrecognized_key", f"message {number}: {', '.join(map(repr, unknown))}")
        if not isinstance(role, str) or role not in ROLES:
            report("unrecognized_role", f"message {number} has role {role!r}")
        content = message.get("content")
        if "content" in message or not makes_call:
            allowed_empty = makes_call and content is None
            if not allowed_empty and not _has_content(content):
                report("missing_content", f"message {number} ({role}) has no text content")
        if calls is not None:
            _check_tool_calls(number, calls, declared, report)
        if function_call is not None:
            _check_function_call(number, function_call, declared, report)
        if role in ("system", "developer"):
            has_system = True
        weight = message.get("weight", 1)
        if "weight" in message and (
            role != "assistant" or isinstance(weight, bool) or weight not in (0, 1)
        ):
            report("invalid_weight", f"message {number} ({role}) has weight {weight!r}")
        if role == "assistant":
            has_assistant = True
            if weight != 0:
                trained_assistant = True
    if require_assistant:
        if not has_assistant:
            report("example_missing_assistant_message", "")
        elif not trained_assistant:
            report("all_weights_zero", "")
    if not has_system:
        report("missing_system_message", "")
    return trained_assistant
