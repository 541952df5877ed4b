"""The self-test: the article's ``torch.rand(5, 3)`` on every device, then a 10-step fit on
every working torch device compared with NumPy from the same start."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..shadowing import FAIL, OK
from .report import Check, first_line

# The 10-step fit: the README's example start, the article's problem and learning rate.
FIT_INIT = (0.3, -0.7, 0.1, 0.05)
FIT_STEPS = 10
FIT_TOL = {"float64": 1e-9, "float32": 1e-4}


def rand_checks(torch: Any, devices: Sequence[dict[str, Any]]) -> tuple[list[Check], list[str]]:
    """The article's ``torch.rand(5, 3)`` on each device: the checks, and the devices that work."""
    checks = []
    working = []
    for d in devices:
        dev = d["device"]
        try:
            t = torch.rand(5, 3, device=dev)
            values = t.cpu().tolist()
            good = tuple(t.shape) == (5, 3) and all(0.0 <= v < 1.0 for row in values for v in row)
        except Exception as exc:
            checks.append(
                Check(
                    f"rand:{dev}",
                    FAIL,
                    f"torch.rand(5, 3) on {dev} fails: {first_line(exc)}",
                    "install a PyTorch build that supports this device (pytorch.org/get-started)",
                )
            )
            continue
        if good:
            working.append(dev)
            checks.append(
                Check(
                    f"rand:{dev}",
                    OK,
                    f"torch.rand(5, 3) on {dev}: a 5x3 tensor of values in [0, 1)",
                    data={"tensor": values},
                )
            )
        else:
            checks.append(
                Check(
                    f"rand:{dev}",
                    FAIL,
                    f"torch.rand(5, 3) on {dev} gave wrong values",
                    data={"tensor": values},
                )
            )
    return checks, working


def fit_checks(torch_devices: Sequence[str]) -> list[Check]:
    """A 10-step fit on NumPy, then on each torch device from the same start, compared."""
    try:
        import numpy as np

        from ..api import fit

        x = np.linspace(-math.pi, math.pi, 2000)
        y = np.sin(x)
        kw: dict[str, Any] = {
            "degree": 3,
            "lr": 1e-6,
            "steps": FIT_STEPS,
            "log_every": 1,
            "init": FIT_INIT,
            "reference": False,
        }
        ref = fit(x, y, backend="numpy", dtype="float64", **kw)
    except Exception as exc:
        return [Check("fit:numpy", FAIL, f"10-step fit on numpy fails: {first_line(exc)}")]

    def trace(r: Any) -> list[float]:
        return [float(v) for _, v in r.loss_history] + [float(r.final_loss), *map(float, r.coef)]

    ref_trace = trace(ref)
    first, last = ref_trace[0], ref.final_loss
    checks = [
        Check(
            "fit:numpy",
            OK,
            f"{FIT_STEPS}-step fit on numpy float64: loss {first:.6g} -> {last:.6g} "
            "(the reference)",
            data={"loss_history": ref.loss_history, "coef": ref.coef.tolist()},
        )
    ]
    for dev in torch_devices:
        dtype = "float32" if dev == "mps" else "float64"
        cid = f"fit:torch:{dev}"
        try:
            r = fit(x, y, backend="torch", device=dev, dtype=dtype, **kw)
        except Exception as exc:
            checks.append(
                Check(cid, FAIL, f"{FIT_STEPS}-step fit on torch {dev} fails: {first_line(exc)}")
            )
            continue
        diff = _max_rel_diff(ref_trace, trace(r))
        tol = FIT_TOL[dtype]
        data = {"dtype": dtype, "max_rel_diff": diff, "tolerance": tol, "coef": r.coef.tolist()}
        summary = (
            f"{FIT_STEPS}-step fit on torch {dtype} on {dev} matches numpy: "
            f"max relative difference {diff:.2g} (losses and coefficients)"
        )
        if not diff <= tol:
            summary = summary.replace("matches", "differs from") + f" > {tol:g}"
            fix = "report it with this output; use --backend numpy meanwhile"
            checks.append(Check(cid, FAIL, summary, fix, data))
        else:
            checks.append(Check(cid, OK, summary, data=data))
    return checks


def _max_rel_diff(a: Sequence[float], b: Sequence[float]) -> float:
    out = 0.0
    for u, v in zip(a, b, strict=True):
        scale = max(abs(u), abs(v))
        if scale:
            out = max(out, abs(u - v) / scale)
        elif u != v:  # NaN
            return math.inf
    return out
