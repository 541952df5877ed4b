"""Communicators: how the sums a run needs over all its rows are taken.

:class:`LocalComm` (one process: a sum is the value itself) and :class:`DistContext`
(torch.distributed: one ``all_reduce``) have the same methods; the planner and the training
loop use whichever the run has, so a distributed run is the one-process run with its sums
taken over the ranks. torch.distributed is imported only when a :class:`DistContext` is used.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import numpy as np

from ..errors import DistributedError, UsageError

# What torchrun puts in each worker's environment (and what --workers sets the same way).
ENV_VARS = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
# Joining the run may take this much longer than --timeout before the process gives up.
JOIN_GRACE = 2.0


class LocalComm:
    """The communicator of a run in one process (the null object): every sum over the ranks
    is the value itself, this process is rank 0 of 1, and nothing is sent anywhere. The
    planner and the loop call the same methods on it as on :class:`DistContext`, so a run has
    no "distributed or not" branches of its own."""

    rank = 0
    world_size = 1
    distributed = False

    def total(self, n: int) -> int:
        return int(n)

    def bounds(self, lo: float, hi: float) -> tuple[float, float]:
        return lo, hi

    def host_reduce(self, values: Any, op: str = "sum") -> np.ndarray:
        return np.array(values, dtype=np.float64).reshape(-1)

    def sum_scalar(self, value: Any) -> Any:
        return value

    def sum_stats(self, stats: Any) -> Any:
        return stats

    def part(self) -> tuple[int, int] | None:
        """Which part of the rows this process reads: None, all of them."""
        return None

    def row_range(self, n: int) -> tuple[int, int] | None:
        """Where this process's rows lie among all the rows: None, they are all of them."""
        return None

    def shard(self, problem: Any) -> Any:
        return problem

    def broadcast_seed(self, seed: int) -> int:
        return seed

    def agreed(self, local: Any, every: int, start: int) -> Any:
        return local

    def attach(self, method: Any) -> Any:
        return method


LOCAL = LocalComm()


@dataclass
class DistContext:
    """This process's place in a torch.distributed run: rank, world size, collective backend,
    timeout. The communicator of a distributed run (see :class:`LocalComm`)."""

    distributed = True

    rank: int
    world_size: int
    local_rank: int
    backend: str  # gloo | nccl
    timeout: float
    device: str = "cpu"  # where this rank's tensors live (nccl reduces only CUDA tensors)

    def part(self) -> tuple[int, int]:
        """Which part of the rows this rank reads: ``(rank, world_size)``."""
        return self.rank, self.world_size

    def broadcast_seed(self, seed: int) -> int:
        """Rank 0's ``seed``, on every rank (every rank must start from the same one)."""
        import torch.distributed as dist

        box = [seed if self.rank == 0 else None]
        dist.broadcast_object_list(box, src=0)
        return int(box[0])

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
        from ..stats import GramStats

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
        from ..methods.batch import MiniBatch

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

    rank, world = _env_int("RANK", 0), _env_int("WORLD_SIZE", 1)
    local_rank = _env_int("LOCAL_RANK", 0, default=rank)
    if rank >= world:
        raise UsageError(
            f"RANK={rank} and WORLD_SIZE={world} do not describe a rank of the run "
            "(0 <= RANK < WORLD_SIZE); they are set by torchrun or gradfit fit --workers"
        )
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


def _env_int(name: str, minimum: int, default: int | None = None) -> int:
    """An integer from the environment torchrun sets; one line naming it when it is not one."""
    text = os.environ.get(name)
    if text is None and default is not None:
        return default
    try:
        value = int(str(text).strip())
    except ValueError:
        raise UsageError(
            f"the environment variable {name}={text!r} is not an integer; it is set by "
            "torchrun or gradfit fit --workers"
        ) from None
    if value < minimum:
        raise UsageError(f"the environment variable {name}={value} must be at least {minimum}")
    return value


def _give_up(message: str) -> None:
    """The watchdog's end: one line and exit 1, from a thread (the main one is stuck in C++)."""
    sys.stderr.write(f"gradfit: error: {message}\n")
    sys.stderr.flush()
    os._exit(1)


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
