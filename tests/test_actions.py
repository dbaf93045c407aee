"""Device actions are one typed vocabulary: mypy catches a typo in a handler."""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api as mypy_api

from assistant.devices.actions import ACTIONS, is_action
from assistant.devices.entities import Action
from assistant.devices.registry import Registry
from assistant.errors import UserError
from assistant.understanding.dryrun import RecordingExecutor

ROOT = Path(__file__).resolve().parent.parent

HANDLER = """
from assistant.understanding.handlers import IntentContext, intent_handler


@intent_handler("Typo", "a handler with mistakes in it")
async def typo(ctx: IntentContext) -> str | None:
    for entity in ctx.targets():
        await ctx.execute(entity, "set_brightness", brightness=40)
        await ctx.execute(entity, "turn_onn")
        await ctx.execute(entity, "set_brightness", brightnes=40)
        await ctx.execute(entity, "set_position", position="half")
    await ctx.execute_all(ctx.targets(), lambda _e: "opne")
    return None
"""


def test_mypy_rejects_a_misspelt_action_or_parameter(tmp_path: Path) -> None:
    handler = tmp_path / "typo_handler.py"
    handler.write_text(HANDLER, encoding="utf-8")
    out, _err, status = mypy_api.run(
        ["--strict", "--no-incremental", "--config-file", str(ROOT / "pyproject.toml"),
         str(handler)]
    )  # fmt: skip
    assert status == 1, out
    errors = [line for line in out.splitlines() if ": error:" in line]
    lines = sorted({int(line.split(":")[1]) for line in errors})
    assert lines == [9, 10, 11, 12], out  # every mistake, and not the correct call on line 8
    assert 'did you mean "brightness"' in out


async def test_an_untyped_caller_gets_one_line_for_an_unknown_action() -> None:
    registry = Registry()
    executor = RecordingExecutor(registry)
    with pytest.raises(UserError, match="unknown action 'explode'"):
        await executor.execute("light.x", "explode")  # type: ignore[arg-type]


def test_the_json_shape_of_an_action() -> None:
    # The documented keys, plus whether the device's state confirmed it (None: nothing to
    # confirm with).
    action = Action("light.kitchen", "set_brightness", {"brightness": 40})
    assert action.to_json() == {
        "entity_id": "light.kitchen", "action": "set_brightness", "params": {"brightness": 40},
        "confirmed": None,
    }  # fmt: skip
    assert all(is_action(a) for a in ACTIONS)
    assert not is_action("turn_onn")
