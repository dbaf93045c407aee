"""Starting the assistant as a process, and which processes are still running.

A test starts the assistant with ``start_new_session=True``, so the command
and everything it starts (the LLM worker, any resource tracker) share one
session id, which survives re-parenting to PID 1.  After killing the command
the test asks which processes of that session are still alive.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path


def _stat(pid_dir: Path) -> tuple[str, int] | None:
    try:
        raw = (pid_dir / "stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid pgrp session ..."; comm may contain spaces and ')'.
    fields = raw.rsplit(")", 1)[1].split()
    return fields[0], int(fields[3])


def _cmdline(pid_dir: Path) -> str:
    try:
        return (pid_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"


def leftovers(session: int) -> list[str]:
    """'pid cmdline' of every live (not zombie) process in `session`."""
    found = []
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        stat = _stat(pid_dir)
        if stat is None or stat[1] != session or stat[0] == "Z":
            continue
        found.append(f"{pid_dir.name} {_cmdline(pid_dir)}")
    return found


def wait_until_gone(session: int, seconds: float = 10.0) -> list[str]:
    """Poll until no process of `session` is left (or time is up); what is left."""
    deadline = time.monotonic() + seconds
    left = leftovers(session)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = leftovers(session)
    return left


async def start_run(config: Path, *args: str) -> asyncio.subprocess.Process:
    """`assistant run --config CONFIG ARGS...` with pipes, without our ASSISTANT_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "assistant.cli",
        "run",
        "--config",
        str(config),
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
