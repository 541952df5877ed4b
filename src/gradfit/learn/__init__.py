"""``gradfit learn``: a ladder of exercises that check themselves.

The article ends with an empty "Exercises" section; this is it. Twelve small Python files, each
one step from the last, following the article and PyTorch's "Learning PyTorch with Examples":
the forward pass, the loss, the gradients, one update, the loop and its stable learning rate,
the same on tensors, autograd, ``nn`` + ``optim``, a custom autograd Function, momentum and
the gradient of a formula model.

- :data:`EXERCISES`: the registry (this module);
- :mod:`.workspace`: writing the files (``start``, ``solution``) and the learner's progress;
- :mod:`.runner`: the subprocess that imports a learner's file and calls it on fixed inputs;
- :mod:`.check`: runs the runner with a time limit and turns its numbers into hints;
- :mod:`.diagnose`: the comparisons with the references (:mod:`.problem`) behind the hints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

__all__ = ["EXERCISES", "Exercise", "by_number", "solution_text", "template"]


@dataclass(frozen=True)
class Exercise:
    """One rung: its number, short name, file, what it asks, and whether it needs torch."""

    number: int
    name: str
    title: str
    torch: bool = False

    @property
    def file(self) -> str:
        return f"ex{self.number:02d}_{self.name}.py"

    @property
    def source(self) -> str:
        """The exercise's source: the solution with ``# SOLUTION`` / ``# END`` markers."""
        pkg = resources.files(__name__) / "exercises" / self.file
        return pkg.read_text(encoding="utf-8")


EXERCISES: tuple[Exercise, ...] = (
    Exercise(1, "forward", "the forward pass: y_pred = a + b x + c x^2 + d x^3"),
    Exercise(2, "loss", "the loss: the sum of squared errors"),
    Exercise(3, "gradients", "the four gradients grad_a .. grad_d"),
    Exercise(4, "update", "one step of gradient descent"),
    Exercise(5, "loop", "the training loop and its learning rate"),
    Exercise(6, "stable_rate", "predict divergence: the stable learning rate 2/lambda_max"),
    Exercise(7, "torch_loop", "the same loop with torch tensors", torch=True),
    Exercise(8, "autograd", "autograd: loss.backward() finds the gradients", torch=True),
    Exercise(9, "nn_optim", "torch.nn and torch.optim, with zero_grad", torch=True),
    Exercise(10, "custom_function", "a custom autograd Function: Legendre P3", torch=True),
    Exercise(11, "momentum", "SGD with momentum"),
    Exercise(12, "formula", "the gradient of a formula model b1 (1 - exp(-b2 x))"),
)

_BLOCK = re.compile(r"^( *)# SOLUTION: (.*)\n(?:.*\n)*?\1# END\n", re.MULTILINE)


def by_number(number: int) -> Exercise:
    """The exercise numbered ``number`` (1-based); UsageError if there is none."""
    from ..errors import UsageError

    if not 1 <= number <= len(EXERCISES):
        raise UsageError(f"there is no exercise {number}: they are numbered 1 to {len(EXERCISES)}")
    return EXERCISES[number - 1]


def template(ex: Exercise) -> str:
    """The learner's file: every solution block replaced by a TODO that says what to write."""
    return _BLOCK.sub(
        lambda m: f'{m.group(1)}raise NotImplementedError("TODO: {_escape(m.group(2))}")\n',
        ex.source,
    )


def solution_text(ex: Exercise) -> str:
    """The reference solution: the source without its markers."""
    return "".join(
        line
        for line in ex.source.splitlines(keepends=True)
        if not line.strip().startswith(("# SOLUTION:", "# END"))
    )


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
