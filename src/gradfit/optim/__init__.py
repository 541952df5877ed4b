"""Optimizers: how parameters move once the gradient is known.

:class:`OptimizerSpec` names an optimizer and its hyper-parameters (:mod:`.spec`). It builds

- a gradfit optimizer for the array-API path (:func:`make_array_optimizer`, :mod:`.pure`),
  used by the manual and gram methods on NumPy and PyTorch alike: pure ``init(params) -> state``
  and ``update(grad, state, params) -> (params, state)`` pairs, in optax's shape, whose formulas
  are ``torch.optim``'s, term for term, so the two give the same numbers; or
- the ``torch.optim`` optimizer itself (:func:`make_torch_optimizer`, :mod:`.torch_optim`),
  used by the torch methods.

Plain SGD is ``w - lr * grad``, the article's update, so the article's run stays bit-for-bit
identical to its script.
"""

from .pure import (
    SGD,
    Adam,
    AdamState,
    ArrayOptimizer,
    EmptyState,
    MomentumState,
    RMSprop,
    RMSpropState,
    State,
    descend,
    load_state,
    make_array_optimizer,
)
from .spec import DESCRIPTIONS, OPTIMIZERS, OptimizerSpec, check_lr
from .torch_optim import TutorialSGD, make_torch_optimizer

__all__ = [
    "DESCRIPTIONS",
    "OPTIMIZERS",
    "SGD",
    "Adam",
    "AdamState",
    "ArrayOptimizer",
    "EmptyState",
    "MomentumState",
    "OptimizerSpec",
    "RMSprop",
    "RMSpropState",
    "State",
    "TutorialSGD",
    "check_lr",
    "descend",
    "load_state",
    "make_array_optimizer",
    "make_torch_optimizer",
]
