"""Methods: the ways of obtaining the gradient. Each plugs into the same training loop.

A method is built from a model, a problem, an optimizer spec and initial parameters, and the
loop asks it for one thing per step: ``step(need_loss) -> loss or None`` - compute the gradient
and let the optimizer move the parameters. The loss (before the update, as the article prints
it) stays on the device; the loop reads it back only on logged steps.

========  ============================================================  ==================
method    how the gradient is obtained                                  optimizer
========  ============================================================  ==================
manual    the model's hand-derived gradient (the article)               gradfit.optim
autograd  ``loss.backward()`` on a leaf tensor of parameters             torch.optim
nn        ``torch.nn.Linear`` + ``nn.MSELoss(reduction='sum')``          torch.optim
module    a custom ``nn.Module`` with one ``nn.Parameter`` per weight    torch.optim
gram      ``2 (G w - b)`` from ``G = X^T X``, ``b = X^T y`` (one pass)   gradfit.optim
========  ============================================================  ==================

``auto`` (the default) picks ``gram`` when it gives the same iterates as ``manual`` and is
worth it - see :func:`resolve_method` - and ``manual`` otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..backends import Backend
from ..errors import UsageError
from ..optim import OptimizerSpec

if TYPE_CHECKING:  # the data package is for runs; the option table needs only these names
    from ..data import Problem

METHODS = ("manual", "autograd", "nn", "module", "gram")
CHOICES = (*METHODS, "auto")  # what --method accepts
TORCH_ONLY = ("autograd", "nn", "module")
DESCRIPTIONS = {
    "manual": "hand-derived gradient, hand-written update (the article); numpy or torch",
    "autograd": "loss.backward() computes the gradient; torch.optim updates (torch)",
    "nn": "torch.nn.Linear layer + nn.MSELoss(reduction='sum') + torch.optim (torch)",
    "module": "a custom torch.nn.Module with one nn.Parameter per weight + torch.optim (torch)",
    "gram": "exact full-batch gradient 2 (G w - b) from X^T X, X^T y: one pass over the data, "
    "then O(d^2) a step; same iterates as manual (poly; numpy or torch)",
}
# `--method auto` keeps the article's per-point loop below this many points: there it costs
# milliseconds, and the printed numbers stay the article's bit for bit.
AUTO_GRAM_MIN_POINTS = 10_000


class Method(Protocol):
    """What the training loop needs from a method."""

    name: str

    def step(self, need_loss: bool) -> Any | None: ...

    def loss(self) -> Any: ...

    def params(self) -> np.ndarray: ...

    def snapshot(self) -> Any: ...  # the state a replay needs (device copies, no host sync)

    def restore(self, snap: Any) -> None: ...


def resolve_method(
    name: str,
    model: Any,
    n_points: int,
    dtype: str,
    optimizer: str,
    batch_size: int | None = None,
    loss: Any = None,
    penalty: Any = None,
) -> tuple[str, str | None]:
    """The method that runs for ``--method name`` and, for ``auto``, why.

    ``auto`` is ``gram`` when all hold: the model is linear in its parameters (poly), the run is
    float64 (so gram's iterates equal manual's to rounding), the optimizer is one of gradfit's
    (not lbfgs), full batches (no ``--batch-size``), and at least ``AUTO_GRAM_MIN_POINTS``
    points (the article's 2000-point run keeps its own arithmetic), and the loss is a sum of
    squares (``loss``: None or one with a ``factor``) with no ``--l1`` (``penalty``; ``--l2`` is
    ridge, which the statistics give exactly). Otherwise ``manual``.
    """
    if name != "auto":
        return name, None
    if getattr(model, "kind", "") == "callable":
        return "autograd", "a Python function: torch's autograd differentiates it"
    why_not = (
        "the model is not linear in its parameters"
        if not getattr(model, "linear", False)
        else "no sufficient statistics for this model"
        if not getattr(model, "statistics", False)
        else "float32 runs keep the per-point loop"
        if dtype != "float64"
        else f"the {loss.name} loss is not a sum of squares"
        if loss is not None and loss.factor is None
        else "--l1 is not smooth: the statistics give no gradient for it"
        if penalty is not None and penalty.l1 > 0
        else "lbfgs is torch.optim's"
        if optimizer == "lbfgs"
        else f"{optimizer} solves with the Jacobian"
        if optimizer in ("lm", "gauss-newton")
        else "mini-batches need the per-point loop"
        if batch_size is not None
        else f"fewer than {AUTO_GRAM_MIN_POINTS} points"
        if n_points < AUTO_GRAM_MIN_POINTS
        else None
    )
    if why_not is None:
        return "gram", "poly model, float64, full batch: same iterates as manual, one data pass"
    return "manual", why_not


def make_method(
    name: str,
    model: Any,
    problem: Problem,
    backend: Backend,
    spec: OptimizerSpec,
    init: np.ndarray,
    seed: int = 0,
    stats: Any = None,
    loss: Any = None,
    penalty: Any = None,
) -> Method:
    """Build the method called ``name``, starting from parameters ``init`` (float64).

    ``stats`` (gram only): precomputed :class:`gradfit.stats.GramStats`; else one pass over
    ``problem``. ``loss``: a :class:`gradfit.losses.Loss` (None: the sum of squared errors);
    ``penalty``: a :class:`gradfit.losses.Penalty` on the parameters added to it (None: none)."""
    from ..losses import NO_PENALTY, SQUARED

    loss = SQUARED if loss is None else loss
    penalty = NO_PENALTY if penalty is None else penalty
    if name not in METHODS:
        raise UsageError(f"unknown method {name!r}; choose one of: {', '.join(METHODS)}")
    if name in TORCH_ONLY and backend.name != "torch":
        raise UsageError(f"the {name} method needs the torch backend; use --backend torch")
    if name == "gram":
        from ..stats import statistics
        from .gram import GramMethod

        if not getattr(model, "statistics", False):
            raise UsageError(
                f"the gram method needs a model linear in its parameters (poly), not {model.kind}; "
                "use --method manual"
            )
        if stats is None:
            stats = statistics(model, problem.x, problem.y, weights=problem.weights)
        return GramMethod(stats, backend, spec, init, loss, penalty)
    if spec.name in ("lm", "gauss-newton"):
        from .second_order import SecondOrderMethod

        if name not in ("manual", "autograd"):
            raise UsageError(
                f"--optimizer {spec.name} takes its steps from the model's Jacobian: use "
                "--method manual (the hand-derived one) or autograd (torch's)"
            )
        if penalty:
            raise UsageError(f"--optimizer {spec.name} has no --l2 or --l1 yet; use sgd or adam")
        return SecondOrderMethod(name, model, problem, backend, spec, init, seed, loss)
    if name == "manual":
        from .manual import ManualMethod

        return ManualMethod(model, problem, backend, spec, init, seed, loss, penalty)
    if name == "autograd":
        from .autograd import AutogradMethod

        return AutogradMethod(model, problem, backend, spec, init, seed, loss, penalty)
    from .nn import NNMethod

    return NNMethod(name, model, problem, backend, spec, init, seed, loss, penalty)
