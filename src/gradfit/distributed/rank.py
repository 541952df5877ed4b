"""One rank of a distributed run: join the process group, run the planned fit on this rank's
rows, leave cleanly.

:func:`session` is the only distributed part of :func:`gradfit.run`: it yields the
communicator (:class:`~gradfit.distributed.comm.DistContext`) that the planner and the loop
take their sums with, turns a lost connection into one line, and tears the group down.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from typing import Any

from ..errors import DistributedError, UsageError
from .comm import DistContext, _first_line, _is_comm_error, init_process_group


@contextlib.contextmanager
def session(config: Any) -> Iterator[DistContext]:
    """Join the torchrun job ``config`` is one rank of; yield its communicator."""
    # c10d's own logs (connection retries, C++ stack traces) would bury the one-line error.
    os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "FATAL")
    import torch.distributed as dist

    from .launcher import tie_to_launcher

    tie_to_launcher()
    device = rank_device(config)
    ctx = init_process_group(config.dist_timeout, device if config.backend == "torch" else "cpu")
    try:
        yield ctx
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


def rank_device(config: Any) -> str:
    """This rank's device: ``cuda`` and ``auto`` mean the GPU of its LOCAL_RANK (made current)."""
    device = config.device
    if config.backend == "torch" and device in ("cuda", "auto"):
        import torch

        if torch.cuda.is_available():
            device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    if device.startswith("cuda"):
        import torch

        torch.cuda.set_device(torch.device(device))
    return device


def describe(result: Any, plan: Any) -> None:
    """Add to rank 0's ``result`` what a distributed run reports: the world, and the summary
    of all the ranks' rows (one all_reduce) with the whole dataset as a lazily read stream
    (plots take a sample of it)."""
    from ..data import ChunkedProblem, generated, open_file

    ctx, config, problem = plan.comm, plan.config, plan.read
    part = isinstance(problem, ChunkedProblem)  # else the whole problem, sliced
    result.distributed = {
        "world_size": ctx.world_size,
        "rank": ctx.rank,
        "backend": ctx.backend,
        "rows": len(problem),
        "read": "part" if part else "whole",
    }
    if not part:
        return
    rows, dropped = (int(v) for v in ctx.host_reduce([problem.n, problem.dropped]))
    if problem.source is None:  # generated
        result.data = None
        result.dataset = generated(
            config.target, config.points, config.x_range, config.noise, plan.seed
        )
        return
    info = dict(problem.source, rows=rows, dropped=dropped, used=rows - dropped)
    result.data = info
    result.dataset = ChunkedProblem(
        rows,
        problem.name,
        lambda size: open_file(
            config.data, config.x_column, config.y_column, config.drop_nonfinite
        ).chunks(size),
        source=info,
    )
    if result.method != "gram":  # the rows were held, as one process holds them
        info.pop("streamed", None)
