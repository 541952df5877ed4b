"""Data-parallel fitting on PyTorch's own distributed engine (``torch.distributed``).

A distributed run is K processes (ranks) started by ``torchrun`` (or by ``gradfit fit
--workers K``, which starts them the same way on this machine). Every rank has the same
initial parameters, reads only its own contiguous part of the rows (:func:`rank_problem`), and
runs the same training loop. Each step the gradient of the sum of squared errors is the sum of
the ranks' partial gradients, so:

- manual and autograd: the partial gradient (and, on steps that read it, the partial loss) is
  summed with one ``all_reduce`` (SUM) of d or d + 1 numbers, then every rank applies the same
  update to the same parameters - they stay identical on all ranks;
- nn and module: the module is wrapped in ``DistributedDataParallel`` with a communication hook
  that sums (DDP's default averages; the loss here is a sum over all rows);
- gram: the sufficient statistics (X^T X, X^T y, y^T y) of each rank's rows are summed once
  (:meth:`DistContext.sum_stats`); after that no communication.

Each rank reads only its own rows (:func:`rank_problem`): a part of the data file or of the
generated problem. What needs all the rows is summed over the ranks in one small collective:
the row count, x's range (for --scale), the statistics that check the data determines the fit
and give the curvature (--lr auto), the reference optimum, and y^T y (the divergence guard).

gloo on the CPU (NumPy arrays are reduced in place through ``torch.from_numpy``), nccl on CUDA.
Rank 0 alone logs, plots, saves and writes checkpoints.

Faults: the process group is created with ``timeout=--timeout``; a rank that dies breaks the
others' connections (they fail at once), a rank that hangs or never arrives makes them fail
after the timeout. Either way each process stops with one ``gradfit: error:`` line and exit 1.

torch.distributed is imported only here, on the distributed path.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import numpy as np

from .errors import DistributedError, UsageError

# What torchrun puts in each worker's environment (and what --workers sets the same way).
ENV_VARS = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
# Joining the run may take this much longer than --timeout before the process gives up.
JOIN_GRACE = 2.0


@dataclass
class DistContext:
    """This process's place in the run: rank, world size, collective backend, timeout."""

    rank: int
    world_size: int
    local_rank: int
    backend: str  # gloo | nccl
    timeout: float
    device: str = "cpu"  # where this rank's tensors live (nccl reduces only CUDA tensors)

    def rows(self, n: int) -> slice:
        """This rank's contiguous share of ``n`` rows (sizes differ by at most one)."""
        return slice(n * self.rank // self.world_size, n * (self.rank + 1) // self.world_size)

    def shard(self, problem: Any) -> Any:
        """The problem restricted to this rank's rows."""
        s = self.rows(len(problem))
        return replace(problem, x=problem.x[s], y=problem.y[s])

    def reduce(self, grad: Any, loss: Any) -> tuple[Any, Any]:
        """Sum ``grad`` (1-D) and ``loss`` (0-d, or None) over the ranks in one all_reduce."""
        import torch
        import torch.distributed as dist

        parts = [p for p in (grad, loss) if p is not None]
        if isinstance(parts[0], np.ndarray | np.generic):
            buf = np.concatenate([np.reshape(p, -1) for p in parts])
            dist.all_reduce(torch.from_numpy(buf))  # in place, shared memory
        else:
            buf = torch.cat([p.reshape(-1) for p in parts])
            dist.all_reduce(buf)
        if grad is None:
            return None, buf[0]
        n = grad.shape[0]
        return buf[:n], (buf[n] if loss is not None else None)

    def sum_scalar(self, value: Any) -> Any:
        """A 0-d value summed over the ranks."""
        return self.reduce(None, value)[1]

    def host_reduce(self, values: Any, op: str = "sum") -> np.ndarray:
        """float64 host ``values`` summed (``op="sum"``) or maximised (``"max"``) over the
        ranks, in one collective; every rank gets the same numbers."""
        import torch
        import torch.distributed as dist

        t = torch.from_numpy(np.array(values, dtype=np.float64).reshape(-1))
        if self.backend == "nccl":
            t = t.to(self.device)
        dist.all_reduce(t, op=dist.ReduceOp.SUM if op == "sum" else dist.ReduceOp.MAX)
        return t.cpu().numpy()

    def row_range(self, n: int) -> tuple[int, int]:
        """Where this rank's ``n`` rows lie among all the ranks' rows, in rank order."""
        counts = np.zeros(self.world_size)
        counts[self.rank] = n
        first = int(self.host_reduce(counts)[: self.rank].sum())
        return first, first + n

    def total(self, n: int) -> int:
        """A count summed over the ranks (exact below 2^53)."""
        return int(self.host_reduce([n])[0])

    def bounds(self, lo: float, hi: float) -> tuple[float, float]:
        """The smallest ``lo`` and largest ``hi`` of all ranks (an empty part gives inf, -inf)."""
        neg_lo, hi = self.host_reduce([-lo, hi], "max")
        return -float(neg_lo), float(hi)

    def sum_stats(self, stats: Any) -> Any:
        """Sufficient statistics (:class:`gradfit.stats.GramStats`) of this rank's rows summed
        with the others': those of all the rows, in one all_reduce of (d + 1)^2 + 1 numbers."""
        from .stats import GramStats

        d = stats.xty.size
        flat = np.concatenate([stats.gram.reshape(-1), stats.xty, [stats.yty, stats.n]])
        tot = self.host_reduce(flat)
        return GramStats(tot[: d * d].reshape(d, d), tot[d * d : d * d + d], tot[-2], int(tot[-1]))

    def agreed(self, local: Any, every: int, start: int) -> Any:
        """A ``stop()`` for the loop that all ranks answer alike: every ``every`` steps the
        ranks sum their ``local()`` flags (one all_reduce of one number) and all stop if any
        was asked to (Ctrl-C reaches the ranks at different moments)."""
        count = [start]

        def stop() -> bool:
            count[0] += 1
            if count[0] % every:
                return False
            flag = np.array(1.0 if local() else 0.0)
            if self.backend == "nccl":
                import torch

                flag = torch.from_numpy(flag).to(self.device)
            return bool(self.sum_scalar(flag) > 0)

        return stop

    def attach(self, method: Any) -> Any:
        """Make ``method`` sum its gradients over the ranks; returns the method to train.

        A method built on statistics already summed over the ranks (gram: see
        :meth:`sum_stats`) has global gradients and losses: it is returned as it is, with no
        per-step communication.
        """
        if getattr(method, "global_statistics", False):
            return method
        from .methods.batch import MiniBatch

        if isinstance(method, MiniBatch):  # batches drawn over all rows: sum the inner steps
            method.inner = self.attach(method.inner)
            return method
        if method.name in ("nn", "module"):
            # Only the dynamic net (the one model with per-run randomness) skips a weight.
            method.net = _ddp(method.module, unused=getattr(method, "_rng", None) is not None)
        method.reduce = self.reduce
        return DistributedMethod(method, self)


class DistributedMethod:
    """A method whose loss (read for logs, checks and the result) is summed over the ranks.

    ``step`` returns the inner method's loss, which its ``reduce`` hook has already summed (in
    the same collective as the gradient, for manual and autograd).
    """

    def __init__(self, inner: Any, ctx: DistContext) -> None:
        self.inner = inner
        self.ctx = ctx
        self.name = inner.name

    def step(self, need_loss: bool) -> Any | None:
        return self.inner.step(need_loss)

    def loss(self) -> Any:
        return self.ctx.sum_scalar(self.inner.loss())

    def params(self) -> np.ndarray:
        return self.inner.params()

    def snapshot(self) -> Any:
        return self.inner.snapshot()

    def restore(self, snap: Any) -> None:
        self.inner.restore(snap)

    def select(self, rows: Any) -> None:
        self.inner.select(rows)


def _ddp(module: Any, unused: bool) -> Any:
    """``DistributedDataParallel(module)`` summing (not averaging) the gradients."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    device = next(module.parameters()).device
    ddp = DistributedDataParallel(
        module,
        device_ids=[device.index] if device.type == "cuda" else None,
        find_unused_parameters=unused,  # the dynamic net leaves its weight e out of some passes
    )

    def sum_hook(state, bucket):  # type: ignore[no-untyped-def]  # DDP checks annotations
        fut = dist.all_reduce(bucket.buffer(), async_op=True).get_future()
        return fut.then(lambda f: f.value()[0])

    ddp.register_comm_hook(None, sum_hook)
    return ddp


def init_process_group(timeout: float, device: str) -> DistContext:
    """Join the run described by torchrun's environment variables, within ``timeout`` s."""
    missing = [v for v in ENV_VARS if v not in os.environ]
    if missing:
        raise UsageError(
            f"--distributed runs as one process of a torchrun job, but {', '.join(missing)} "
            "is not set; start it with 'torchrun --nproc-per-node K -m gradfit fit "
            "--distributed ...', or use 'gradfit fit --workers K'"
        )
    import torch.distributed as dist

    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    backend = "nccl" if device.startswith("cuda") else "gloo"
    where = f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}"
    message = (
        f"rank {rank} of {world} could not join the other workers at {where} within "
        f"--timeout {timeout:g} s"
    )
    # c10d retries a connection with back-off past the timeout; this bounds the wait.
    watchdog = threading.Timer(timeout + JOIN_GRACE, _give_up, args=(message,))
    watchdog.daemon = True
    watchdog.start()
    try:
        dist.init_process_group(backend, timeout=timedelta(seconds=timeout))
    except Exception as exc:
        raise DistributedError(f"{message} ({_first_line(exc)})") from None
    finally:
        watchdog.cancel()
    return DistContext(rank, world, local_rank, backend, timeout, device)


def _give_up(message: str) -> None:
    """The watchdog's end: one line and exit 1, from a thread (the main one is stuck in C++)."""
    sys.stderr.write(f"gradfit: error: {message}\n")
    sys.stderr.flush()
    os._exit(1)


def run_distributed(
    config: Any, on_log: Any, reference: bool, on_step: Any, step_stride: int
) -> Any:
    """One rank of a distributed :func:`gradfit.run`: join, fit this rank's rows, leave."""
    import secrets

    # c10d's own logs (connection retries, C++ stack traces) would bury the one-line error.
    os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "FATAL")
    import torch.distributed as dist

    from .api import _fit, resume_seed
    from .backends import resolve_backend
    from .data import ChunkedProblem

    config = resume_seed(config)

    device = config.device
    if config.backend == "torch" and device in ("cuda", "auto"):
        import torch

        if torch.cuda.is_available():
            device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    if device.startswith("cuda"):
        import torch

        torch.cuda.set_device(torch.device(device))
    ctx = init_process_group(config.dist_timeout, device if config.backend == "torch" else "cpu")
    try:
        be = resolve_backend(config.backend, device, config.dtype)
        if config.seed is None:  # every rank must start from the same seed: rank 0's
            box = [secrets.randbelow(2**32) if ctx.rank == 0 else None]
            dist.broadcast_object_list(box, src=0)
            config = replace(config, seed=box[0])
        problem = rank_problem(config, be, ctx)
        part = isinstance(problem, ChunkedProblem)  # else the whole problem, sliced
        lead = ctx.rank == 0
        result = _fit(
            problem,
            be,
            config,
            on_log if lead else None,
            reference and lead,
            on_step if lead else None,
            step_stride if lead else 0,
            dist=ctx,
        )
        result.distributed = {
            "world_size": ctx.world_size,
            "rank": ctx.rank,
            "backend": ctx.backend,
            "rows": len(problem),
            "read": "part" if part else "whole",
        }
        if part:  # rank 0 reports (and plots) all the rows
            result.data, result.dataset = whole_dataset(config, problem, ctx)
            if result.data is not None and result.method != "gram":  # held, as one process
                result.data.pop("streamed", None)
        return result
    except (UsageError, DistributedError, KeyboardInterrupt):
        raise
    except Exception as exc:
        if not _is_comm_error(exc):
            raise
        raise DistributedError(
            f"rank {ctx.rank} of {ctx.world_size} lost contact with the other workers: a "
            f"worker died, or did not answer within --timeout {ctx.timeout:g} s "
            f"({_first_line(exc)})"
        ) from None
    finally:
        # DDP's modules hold the process group in reference cycles; freed only by a later
        # collection, possibly at interpreter exit, their gloo threads end in std::terminate
        # (SIGABRT). Free them now, while the group is alive, then destroy it.
        gc.collect()
        with contextlib.suppress(Exception):  # tearing down after a failure
            dist.destroy_process_group()


def rank_problem(config: Any, be: Any, ctx: DistContext) -> Any:
    """This rank's rows, read without reading the others': a part (a
    :class:`gradfit.stream.ChunkedProblem`) of a .npy, Parquet or text file, or of a generated
    problem on NumPy float64. Other sources (.npz files; targets generated by torch, whose
    ``linspace`` NumPy cannot reproduce bit for bit) are built whole by every rank and sliced:
    the same numbers as one process, at the cost of holding them."""
    from . import data as stream
    from .api import make_run_problem

    part = (ctx.rank, ctx.world_size)
    if config.data is not None:
        if stream.can_stream(config.data):
            return stream.open_file(
                config.data, config.x_column, config.y_column, config.drop_nonfinite, part=part
            )
    elif be.name == "numpy" and be.dtype == "float64":
        return stream.generated(
            config.target, config.points, config.x_range, config.noise, config.seed, part=part
        )
    return ctx.shard(make_run_problem(config, be))


def whole_dataset(config: Any, part: Any, ctx: DistContext) -> tuple[Any, Any]:
    """For rank 0's result: the summary of all the ranks' rows (one all_reduce: rows read,
    rows dropped) and the whole dataset as a lazily read stream (plots take a sample)."""
    from . import data as stream

    rows, dropped = (int(v) for v in ctx.host_reduce([part.n, part.dropped]))
    if part.source is None:  # generated
        whole = stream.generated(
            config.target, config.points, config.x_range, config.noise, config.seed
        )
        return None, whole
    info = dict(part.source, rows=rows, dropped=dropped, used=rows - dropped)
    whole = stream.ChunkedProblem(
        rows,
        part.name,
        lambda size: stream.open_file(
            config.data, config.x_column, config.y_column, config.drop_nonfinite
        ).chunks(size),
        source=info,
    )
    return info, whole


def _is_comm_error(exc: BaseException) -> bool:
    import torch.distributed as dist

    if isinstance(exc, getattr(dist, "DistError", ())):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(
        word in text for word in ("gloo", "nccl", "connection", "timed out", "timeout", "peer")
    )


def _first_line(exc: BaseException) -> str:
    """The first line of a torch error, without its ``[/path/file.cc:123]`` prefix."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = re.sub(r"^\[[^\]]*\.(cc|cpp|h):\d+\]\s*", "", lines[0]) if lines else ""
    text = text or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


# --- gradfit fit --workers K: K local processes, started as torchrun would ----------------


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


def launch_workers(argv: list[str], workers: int, grace: float = 10.0) -> int:
    """Run ``gradfit <argv>`` as ``workers`` local processes of one distributed run.

    Each gets torchrun's environment (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR=127.0.0.1, a
    free MASTER_PORT, OMP_NUM_THREADS=1 unless set). Rank 0's standard output is this
    command's; the others' is discarded. When a worker fails, the others fail within their
    --timeout (they are killed ``grace`` s after that at the latest), and this prints the one
    line that says why - the first failure's - and returns its exit status.
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
    with contextlib.ExitStack() as stack:
        errs = [stack.enter_context(tempfile.TemporaryFile()) for _ in range(workers)]
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "gradfit", *args],
                env=env | {"RANK": str(rank), "LOCAL_RANK": str(rank)},
                stdout=None if rank == 0 else subprocess.DEVNULL,
                stderr=errs[rank],
                start_new_session=True,  # Ctrl-C reaches them once, from here
            )
            for rank in range(workers)
        ]
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
    """Wait for the workers; on the first failure give the others ``timeout + grace`` s."""
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
                deadline = time.monotonic() + timeout + grace
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
    from .config import FitConfig

    return FitConfig.dist_timeout
