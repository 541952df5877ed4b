"""``gradfit fit --workers K``: K local worker processes, started as torchrun would start them,
and supervised: one line saying why when one fails, Ctrl-C passed on, no worker left behind.

Standard library only; the workers themselves run :mod:`gradfit.distributed.rank`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

# Set in each worker's environment: the pid of the launcher whose death must end the worker.
LAUNCHER_PID = "GRADFIT_LAUNCHER_PID"


def tie_to_launcher() -> None:
    """In a worker that ``--workers`` started: die with the launcher. Linux delivers SIGKILL to
    this process when its parent ends (``prctl(PR_SET_PDEATHSIG)``), so a launcher killed with
    ``kill -9`` leaves no worker running. Elsewhere (or without the variable): nothing."""
    launcher = os.environ.get(LAUNCHER_PID)
    if launcher is None or not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):  # pragma: no cover - no prctl: nothing to tie
        return
    if str(os.getppid()) != launcher:  # the launcher ended before the tie was made
        os._exit(1)


def max_workers() -> int:
    """How many local workers this machine can hold: 4 per core (at least 8), and no more than
    its memory holds at about 250 MB each."""
    cores = os.cpu_count() or 1
    limit = max(8, 4 * cores)
    memory = physical_memory()
    return limit if memory is None else max(1, min(limit, memory // (250 * 2**20)))


def physical_memory() -> int | None:
    """This machine's memory in bytes (None where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def worker_argv(argv: list[str]) -> list[str]:
    """The command line of one worker: the user's, without --workers K, with --distributed."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--workers":
            skip = True
            continue
        if arg.startswith("--workers="):
            continue
        out.append(arg)
    if "--distributed" not in out:
        out.append("--distributed")
    return out


def launch_workers(argv: list[str], workers: int, grace: float = 3.0) -> int:
    """Run ``gradfit <argv>`` as ``workers`` local processes of one distributed run.

    Each gets torchrun's environment (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR=127.0.0.1, a
    free MASTER_PORT, OMP_NUM_THREADS=1 unless set). Rank 0's standard output is this
    command's; the others' is discarded. When a worker fails the run has failed: the others get
    ``grace`` s to end on their own (one that lost its peer fails at once) and are killed after
    that - one stopped or stuck in a collective would otherwise wait out its --timeout again.
    So a hung worker ends the run within --timeout (when the others notice) plus ``grace``.
    This prints the one line that says why - the first failure's - and returns its exit
    status.
    """
    args = worker_argv(argv)
    timeout = _timeout_of(args)
    env = dict(os.environ)
    env.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(free_port()),
        WORLD_SIZE=str(workers),
        LOCAL_WORLD_SIZE=str(workers),
        GROUP_RANK="0",
    )
    env.setdefault("OMP_NUM_THREADS", "1")
    env[LAUNCHER_PID] = str(os.getpid())  # the workers die with this process (see tie_to_launcher)
    with contextlib.ExitStack() as stack:
        errs = [stack.enter_context(tempfile.TemporaryFile()) for _ in range(workers)]
        procs: list[subprocess.Popen[bytes]] = []
        try:
            for rank in range(workers):
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "gradfit", *args],
                        env=env | {"RANK": str(rank), "LOCAL_RANK": str(rank)},
                        stdout=None if rank == 0 else subprocess.DEVNULL,
                        stderr=errs[rank],
                        start_new_session=True,  # Ctrl-C reaches them once, from here
                    )
                )
        except OSError as exc:  # a process limit, no memory: none of them may go on alone
            for p in procs:
                p.kill()
                p.wait()
            print(
                f"gradfit: error: could not start worker {len(procs)} of {workers} "
                f"({exc.strerror or exc}); use fewer --workers",
                file=sys.stderr,
            )
            return 1
        previous = {sig: signal.signal(sig, _terminate) for sig in (signal.SIGTERM, signal.SIGHUP)}
        try:
            return _supervise(procs, errs, timeout, grace)
        except _Terminated as exc:  # the launcher is told to stop: so are the workers
            for p in procs:
                if p.poll() is None:
                    p.kill()
            for p in procs:
                p.wait()
            return 128 + exc.signum
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class _Terminated(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminate(signum: int, frame: Any) -> None:
    raise _Terminated(signum)


def _supervise(
    procs: list[subprocess.Popen[bytes]], errs: list[Any], timeout: float, grace: float
) -> int:
    """Wait for the workers; on the first failure give the others ``grace`` s (on Ctrl-C,
    ``timeout + grace``: they stop together at the next agreed step)."""
    workers = len(procs)
    first: tuple[int, int] | None = None  # (rank, status) of the first worker to fail
    killed: set[int] = set()  # ranks this killed after the grace period
    interrupted = False
    deadline = None
    while any([p.poll() is None for p in procs]):  # a list: poll every one
        try:
            failed = [(r, p.returncode) for r, p in enumerate(procs) if p.returncode]
            if first is None and failed:
                first = min(failed, key=_cause)
                deadline = time.monotonic() + grace
            if deadline is not None and time.monotonic() > deadline:
                for rank, p in enumerate(procs):
                    if p.poll() is None:
                        p.kill()
                        killed.add(rank)
            time.sleep(0.02)
        except KeyboardInterrupt:  # pass Ctrl-C on: the workers stop at a step boundary
            interrupted = True
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
            if deadline is None:
                deadline = time.monotonic() + timeout + grace
    if interrupted or any(p.returncode == 130 for p in procs):
        errs[0].seek(0)  # rank 0 says where it stopped and where the checkpoint is
        said = errs[0].read().decode("utf-8", "replace")
        sys.stderr.write(said or "gradfit: interrupted\n")
        return 130
    # All have ended: the cause among all the failures (a bad line in two ranks' parts: the
    # lower rank's, the first in the file), else the first failure seen.
    failed = [(r, p.returncode) for r, p in enumerate(procs) if p.returncode and r not in killed]
    if failed and (first is None or _cause(min(failed, key=_cause)) < _cause(first)):
        first = min(failed, key=_cause)
    if first is None:
        errs[0].seek(0)
        sys.stderr.write(errs[0].read().decode("utf-8", "replace"))
        return 0
    rank, status = first  # type: ignore[misc]
    print(f"gradfit: error: {_failure(rank, status, workers, errs[rank])}", file=sys.stderr)
    return 130 if status == 130 else 2 if status == 2 else 1


def _cause(failure: tuple[int, int]) -> tuple[bool, bool, int]:
    """Sort key of ``(rank, status)`` failures, most likely cause first: a worker killed by a
    signal, then one that refused its input (status 2: a bad line in its part of the file) -
    the others failed because they lost it - then the lowest rank."""
    rank, status = failure
    return status >= 0, status != 2, rank


def _failure(rank: int, status: int, workers: int, err: Any) -> str:
    """One line: why worker ``rank`` failed."""
    err.seek(0)
    lines = err.read().decode("utf-8", "replace").splitlines()
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        # What it said last (a C++ abort's "terminate called ..."), for a bug report.
        last = next((line.strip() for line in reversed(lines) if line.strip()), "")
        said = f" ({last[:200]})" if last else ""
        return (
            f"worker {rank} of {workers} was killed by {name}{said}; the run failed (the "
            "other workers stopped)"
        )
    said = [line for line in lines if line.startswith("gradfit: error: ")]
    if said:
        return said[-1].removeprefix("gradfit: error: ")
    last = lines[-1].strip() if lines else ""
    return f"worker {rank} of {workers} exited with status {status}" + (f": {last}" if last else "")


def _timeout_of(args: list[str]) -> float:
    """The --timeout the workers will use (for how long to wait for them after a failure)."""
    for i, arg in enumerate(args):
        value = None
        if arg == "--timeout" and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--timeout="):
            value = arg.partition("=")[2]
        if value is not None:
            try:
                return float(value)
            except ValueError:
                break
    from ..config import FitConfig

    return FitConfig.dist_timeout
