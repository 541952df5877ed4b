"""Data-parallel fitting on PyTorch's own distributed engine (``torch.distributed``).

A distributed run is K processes (ranks) started by ``torchrun`` (or by ``gradfit fit
--workers K``, which starts them the same way on this machine). Every rank has the same
initial parameters, reads only its own contiguous part of the rows, and runs the same training
loop. Each step the gradient of the sum of squared errors is the sum of
the ranks' partial gradients, so:

- manual and autograd: the partial gradient (and, on steps that read it, the partial loss) is
  summed with one ``all_reduce`` (SUM) of d or d + 1 numbers, then every rank applies the same
  update to the same parameters - they stay identical on all ranks;
- nn and module: the module is wrapped in ``DistributedDataParallel`` with a communication hook
  that sums (DDP's default averages; the loss here is a sum over all rows);
- gram: the sufficient statistics (X^T X, X^T y, y^T y) of each rank's rows are summed once
  (:meth:`DistContext.sum_stats`); after that no communication.

Each rank reads only its own rows (:func:`gradfit.plan.read_problem` with the communicator's
part): a part of the data file or of the generated problem. What needs all the rows is summed
over the ranks in one small collective: the row count, x's range (for --scale), the statistics
that check the data determines the fit and give the curvature (--lr auto), the reference
optimum, and y^T y (the divergence guard).

gloo on the CPU (NumPy arrays are reduced in place through ``torch.from_numpy``), nccl on CUDA.
Rank 0 alone logs, plots, saves and writes checkpoints.

Faults: the process group is created with ``timeout=--timeout``; a rank that dies breaks the
others' connections (they fail at once), a rank that hangs or never arrives makes them fail
after the timeout. Either way each process stops with one ``gradfit: error:`` line and exit 1.

The package: :mod:`.comm` (the communicators: :class:`LocalComm`, the one-process null
object, and :class:`DistContext`), :mod:`.rank` (one rank's session), :mod:`.launcher` (the
``--workers`` supervisor, standard library only). torch.distributed is imported only on the
distributed path.
"""

from __future__ import annotations

from .comm import LOCAL, DistContext, DistributedMethod, LocalComm
from .launcher import free_port, launch_workers, worker_argv

__all__ = [
    "LOCAL",
    "DistContext",
    "DistributedMethod",
    "LocalComm",
    "free_port",
    "launch_workers",
    "worker_argv",
]
