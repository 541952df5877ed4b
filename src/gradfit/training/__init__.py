"""Running a planned fit: THE training loop (:mod:`.loop`), the divergence guard's bound and
advice (:mod:`.guard`), Ctrl-C at a step boundary (:mod:`.interrupt`), and :func:`execute`,
which turns a :class:`gradfit.plan.Plan` into a :class:`gradfit.result.FitResult`."""

from __future__ import annotations

from .execute import build_method, execute

__all__ = ["build_method", "execute"]
