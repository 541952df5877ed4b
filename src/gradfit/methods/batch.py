"""Mini-batch SGD (``--batch-size B``, ``--shuffle``): a different algorithm from the article's.

Each step computes the gradient on B points instead of all N - B times cheaper, but the
gradient is noisy and the trajectory is its own: the losses printed are not the full-batch run's.
An epoch is ``ceil(N / B)`` consecutive steps covering every point once (the last batch holds
the ``N mod B`` left over, as a PyTorch ``DataLoader`` without ``drop_last``). Without
``--shuffle`` the batches are the rows in data order; with it, every epoch draws a fresh
permutation from the run's seed (its own stream, so the initial coefficients and the noise do
not change). The loss logged at a step is the *full-data* loss at the parameters before that
step's update, as in a full-batch run, so runs with different B can be compared line by line;
B = N without shuffling is the full-batch run, number for number.

Distributed (``part``): the batches are drawn over all N rows, by every rank alike (same seed),
and each rank computes the gradient on the batch rows it holds; the inner method's all_reduce
sums those, so a step is the one-process step on the same batch (up to summation order).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backends import Backend


class MiniBatch:
    """Wraps a per-point method (one with ``select(rows)``): each step on the next batch."""

    def __init__(
        self,
        inner: Any,
        backend: Backend,
        n: int,
        batch_size: int,
        shuffle: bool,
        seed: int,
        part: tuple[int, int] | None = None,
    ) -> None:
        """``n``: all the rows; ``part``: the rows ``[first, last)`` of them that ``inner``
        holds (a distributed rank's), None for all."""
        self.inner = inner
        self.part = part
        self.name = inner.name
        self.backend = backend
        self.n = n
        self.batch = min(batch_size, n)
        self.shuffle = shuffle
        self.rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2,)))
        self.position = 0  # the next batch starts at this row of the epoch's order
        self.order: Any = None  # this epoch's permutation (shuffle), on the backend

    def _rows(self) -> Any:
        if self.position == 0 and self.shuffle:
            perm = self.rng.permutation(self.n)
            local = self.backend.name == "numpy" or self.part is not None
            self.order = perm if local else _index(perm, self.backend)
        start, stop = self.position, min(self.position + self.batch, self.n)
        self.position = stop % self.n
        if self.part is None:
            return slice(start, stop) if not self.shuffle else self.order[start:stop]
        first, last = self.part  # the batch's rows that this rank holds, in its own numbering
        if not self.shuffle:
            lo, hi = max(start, first), min(stop, last)
            return slice(lo - first, max(lo, hi) - first)
        rows = self.order[start:stop]
        rows = rows[(rows >= first) & (rows < last)] - first
        return rows if self.backend.name == "numpy" else _index(rows, self.backend)

    def step(self, need_loss: bool) -> Any | None:
        loss = None
        if need_loss:  # the full-data loss before the update, as a full-batch run logs it
            self.inner.select(None)
            loss = self.inner.loss()
        self.inner.select(self._rows())
        self.inner.step(False)
        return loss

    def loss(self) -> Any:
        self.inner.select(None)
        return self.inner.loss()

    def params(self) -> np.ndarray:
        return self.inner.params()

    def snapshot(self) -> Any:
        order = None if self.order is None else self.order * 1
        return self.inner.snapshot(), self.position, order, self.rng.bit_generator.state

    def restore(self, snap: Any) -> None:
        inner, self.position, order, state = snap
        self.inner.restore(inner)
        self.order = None if order is None else order * 1
        self.rng.bit_generator.state = state


def _index(perm: np.ndarray, backend: Backend) -> Any:
    import torch

    return torch.as_tensor(perm, device=backend.device)
