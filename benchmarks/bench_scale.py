"""Speed and scale: gradfit's methods against the article's scripts, numpy's closed form and
scikit-learn's SGDRegressor, from 2000 to 10^8 points, on one machine in one process.

``--json FILE`` writes every row, the target ratios and the start-up times; ``--plot FILE``
draws time against N (log-log). ``benchmarks/suite.py`` runs this as its ``scale`` section
and turns the JSON into the tables of docs/performance.md (``sections.py``).

Workloads (see benchmarks/README.md):

1. the article's problem (2000 points of sin(x), cubic, init 0.3,-0.7,0.1,0.05, lr 1e-6,
   2000 steps, NumPy float64): the article's ``seed_numpy.py`` (and ``seed_torch.py``) exec'd
   as ``bench_article.py`` does, gradfit ``manual`` and ``gram``, ``Polynomial.fit``,
   ``SGDRegressor``; gram's final coefficients are checked against the article's printed ones;
2. N = 10^4 .. 10^7 in memory (sin(x) on [-pi, pi], cubic, lr 2e-3 / N so that every N is
   stable, 2000 steps): a bare pass over x and y, gram, manual, the article's NumPy loop (its
   code with N and the rate substituted), Polynomial.fit, SGDRegressor (N <= 10^6). Where 2000
   steps would take minutes the per-step time of a few steps is multiplied by 2000 - the table
   says so;
3. 10^7- and 10^8-point ``.npy`` files on disk (160 MB and 1.6 GB, deleted afterwards): a
   bare chunked pass reading x and y once, ``numpy.load`` of the whole file, and ``gradfit fit
   --data FILE.npy --backend numpy`` (auto: gram, streamed), each in its own process with its
   peak RSS (VmHWM); the per-point subjects at 10^8 are their 10^7 time x 10;
4. start-up: ``import gradfit.cli``, ``gradfit --help`` and which heavy modules a NumPy run
   imports.

Run: ``python benchmarks/bench_scale.py [--repeat N] [--max-n 1e8] [--seed-dir PATH]
[--json FILE] [--plot FILE]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from bench_article import INIT, SEED_FILES, _jsonable, default_seed_dir, run_article

import gradfit

REPO = Path(__file__).resolve().parents[1]
STEPS = 2000
SWEEP = (10**4, 10**5, 10**6, 10**7)
FILES = (10**7, 10**8)
# Spend at most about this many seconds measuring one slow subject; beyond it, time a few steps
# and multiply the per-step time by STEPS.
BUDGET_S = 4.0


@dataclass
class Row:
    """One measurement: a subject on a workload, its time for the whole job, and how."""

    workload: str
    subject: str
    n: int
    seconds: float
    how: str = "measured"  # or "extrapolated from k steps", ...
    extra: dict[str, Any] = field(default_factory=dict)


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Min wall time of ``repeat`` calls (after gc) and the last result."""
    times, out = [], None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


# --- subjects --------------------------------------------------------------------------------


def article_source(seed_dir: Path, backend: str, n: int, steps: int, lr: float) -> str:
    """The article's script with N, the step count and the rate substituted (nothing else)."""
    text = (seed_dir / SEED_FILES[backend]).read_text(encoding="utf-8")
    text = text.replace("math.pi, 2000", f"math.pi, {n}").replace("range(2000)", f"range({steps})")
    text = text.replace("learning_rate = 1e-6", f"learning_rate = {lr!r}")
    assert text.count(str(n)) >= 1 and f"range({steps})" in text
    return text


def time_article(seed_dir: Path, backend: str, n: int, lr: float, repeat: int) -> Row:
    """The article's loop at N points: whole if it fits the budget, else steps extrapolated."""
    path = seed_dir / SEED_FILES[backend]

    def run(steps: int) -> float:
        code = compile(article_source(seed_dir, backend, n, steps, lr), str(path), "exec")
        with np.errstate(all="ignore"):
            return best(lambda: run_article(code, path, backend)[0], 1 if steps < 50 else repeat)[0]

    setup = run(0)
    probe = run(2) - setup
    per_step = max(probe / 2, 1e-9)
    if per_step * STEPS <= BUDGET_S:
        return Row("", f"article {backend} script", n, run(STEPS) - setup)
    k = max(2, min(20, int(BUDGET_S / per_step)))
    per_step = (run(k) - setup) / k
    return Row("", f"article {backend} script", n, per_step * STEPS, f"extrapolated ({k} steps)")


def time_gradfit(x: Any, y: Any, method: str, lr: float, repeat: int) -> Row:
    """gradfit.fit on arrays in memory (fit_s: the data pass and the loop), or per-step
    extrapolation for the per-point method when 2000 steps would exceed the budget."""

    def fit(steps: int) -> gradfit.FitResult:
        return gradfit.fit(
            x, y, method=method, init=INIT, lr=lr, steps=steps, reference=False, backend="numpy"
        )

    if method == "gram":
        seconds, r = best(lambda: fit(STEPS), repeat)
        return Row("", "gradfit gram", len(x), seconds, extra={"loop_s": r.timings["loop_s"]})
    probe = fit(3).timings["loop_s"] / 3
    if probe * STEPS <= BUDGET_S:
        seconds, r = best(lambda: fit(STEPS), repeat)
        return Row("", f"gradfit {method}", len(x), seconds)
    k = max(3, min(50, int(BUDGET_S / probe)))
    per_step = min(fit(k).timings["loop_s"] / k for _ in range(2))
    return Row("", f"gradfit {method}", len(x), per_step * STEPS, f"extrapolated ({k} steps)")


def time_polyfit(x: np.ndarray, y: np.ndarray, repeat: int) -> Row:
    seconds, _ = best(lambda: np.polynomial.Polynomial.fit(x, y, 3), repeat)
    return Row("", "numpy Polynomial.fit (closed form)", len(x), seconds)


def time_sgdregressor(x: np.ndarray, y: np.ndarray) -> Row | None:
    """scikit-learn's SGDRegressor on standardised [x, x^2, x^3] (its own algorithm: per-sample
    SGD with early stopping; defaults, max_iter 1000)."""
    try:
        from sklearn.linear_model import SGDRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import PolynomialFeatures, StandardScaler
    except ImportError:
        return None
    model = make_pipeline(
        PolynomialFeatures(3, include_bias=False),
        StandardScaler(),
        SGDRegressor(random_state=0),
    )
    X = x.reshape(-1, 1)
    seconds, fitted = best(lambda: model.fit(X, y), 1)
    residual = fitted.predict(X) - y
    return Row(
        "",
        "sklearn SGDRegressor (poly features)",
        len(x),
        seconds,
        extra={"loss": float(residual @ residual), "epochs": int(fitted[-1].n_iter_)},
    )


# --- workloads -------------------------------------------------------------------------------


def article_workload(seed_dir: Path | None, repeat: int) -> tuple[list[Row], dict[str, Any]]:
    x = np.linspace(-math.pi, math.pi, 2000)
    y = np.sin(x)
    rows = [
        time_gradfit(x, y, "manual", 1e-6, repeat),
        time_gradfit(x, y, "gram", 1e-6, repeat),
        time_polyfit(x, y, repeat),
    ]
    sgd = time_sgdregressor(x, y)
    if sgd is not None:
        rows.append(sgd)
    check: dict[str, Any] = {}
    if seed_dir is not None:
        for backend in ("numpy", "torch"):
            if backend == "torch" and not _has_torch():
                continue
            path = seed_dir / SEED_FILES[backend]
            code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
            run_article(code, path, backend)  # warm-up
            seconds, (_, out) = best(lambda c=code, p=path, b=backend: run_article(c, p, b), repeat)
            rows.append(Row("", f"article {backend} script", 2000, seconds))
            if backend == "numpy":
                printed = _coefficients(out.strip().splitlines()[-1])
                gram = gradfit.fit(x, y, method="gram", init=INIT, lr=1e-6, steps=STEPS)
                manual = gradfit.fit(x, y, method="manual", init=INIT, lr=1e-6, steps=STEPS)
                check = {
                    "article_coef": printed,
                    "gram_coef": gram.coef.tolist(),
                    "gram_vs_article_max_rel": _max_rel(gram.coef, printed),
                    "manual_vs_article_max_rel": _max_rel(manual.coef, printed),
                }
    for row in rows:
        row.workload = "article"
    return rows, check


def sweep_workload(seed_dir: Path | None, repeat: int, max_n: int) -> list[Row]:
    rows: list[Row] = []
    for n in (n for n in SWEEP if n <= max_n):
        x = np.linspace(-math.pi, math.pi, n)
        y = np.sin(x)
        lr = 2e-3 / n  # the article's 1e-6 at N = 2000, scaled with the curvature
        bare, _ = best(lambda x=x, y=y: float(x.sum()) + float(y.sum()), repeat)
        rows.append(Row("", "bare pass over x and y (sum)", n, bare))
        rows.append(time_gradfit(x, y, "gram", lr, repeat))
        rows.append(time_gradfit(x, y, "manual", lr, repeat))
        if seed_dir is not None:
            rows.append(time_article(seed_dir, "numpy", n, lr, repeat))
        rows.append(time_polyfit(x, y, 1 if n >= 10**6 else repeat))
        if n <= 10**6:
            sgd = time_sgdregressor(x, y)
            if sgd is not None:
                rows.append(sgd)
        del x, y
    for row in rows:
        row.workload = "sweep"
    return rows


CHILD = r"""
import json, sys, time
import numpy as np
kind, path = sys.argv[1], sys.argv[2]
if kind == "gradfit":
    from gradfit.cli import main
start = time.perf_counter()
if kind == "chunks":  # a bare pass: x and y read once, in chunks, into one reused buffer
    arr = np.load(path, mmap_mode="r"); n = arr.shape[0]; size = 1 << 16; s = 0.0
    buf = bytearray(16 * size)
    with open(path, "rb") as f:
        f.seek(arr.offset)
        for i in range(0, n, size):
            m = min(size, n - i); view = memoryview(buf)[: 16 * m]; f.readinto(view)
            block = np.frombuffer(view).reshape(m, 2)
            s += float(block[:, 0].sum()) + float(block[:, 1].sum())
elif kind == "load":  # the usual bare read: numpy.load of the whole file, then one pass
    a = np.load(path); s = float(a[:, 0].sum()) + float(a[:, 1].sum())
else:  # gradfit's CLI, NumPy, method auto (gram, streamed)
    out = sys.argv[3]
    main(["fit", "--data", path, "--backend", "numpy", "--json", out, "--quiet", "--seed", "1"])
elapsed = time.perf_counter() - start
hwm = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]  # peak RSS, kB
mods = sorted(m for m in ("torch", "matplotlib", "sklearn", "pyarrow") if m in sys.modules)
print(json.dumps({"seconds": elapsed, "peak_rss_mb": int(hwm) / 1024, "heavy_modules": mods}))
"""


def file_workload(n: int, tmp: Path) -> tuple[list[Row], dict[str, Any]]:
    """An N-point .npy table (x, y) on disk: bare passes and gradfit, each in a fresh process
    (run twice; the second, with the file in the page cache, is reported)."""
    path = tmp / f"points-{n}.npy"
    start = time.perf_counter()
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, 2))
    step = 1 << 22
    for i in range(0, n, step):
        x = _lin(n, i, step)
        out[i : i + x.size, 0] = x
        out[i : i + x.size, 1] = np.sin(x)
    out.flush()
    del out
    write_s = time.perf_counter() - start
    rows, info = [], {"file_gb": path.stat().st_size / 1e9, "write_s": write_s}
    result_json = tmp / "fit.json"
    for kind, subject in (
        ("chunks", "bare pass over x and y (file, chunked reads)"),
        ("load", "bare read (numpy.load + sum)"),
        ("gradfit", "gradfit fit --data FILE.npy (auto: gram, streamed)"),
    ):
        for _ in range(2):
            wall = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-c", CHILD, kind, str(path), str(result_json)],
                capture_output=True,
                text=True,
                timeout=600,
            )
            wall = time.perf_counter() - wall
            if proc.returncode != 0:
                raise RuntimeError(f"{kind} failed: {proc.stderr[-2000:]}")
        doc = json.loads(proc.stdout.strip().splitlines()[-1])
        extra = {
            "peak_rss_mb": doc["peak_rss_mb"],
            "process_s": wall,
            "heavy_modules": doc["heavy_modules"],
        }
        if kind == "gradfit":
            fit = json.loads(result_json.read_text())
            assert fit["method"] == "gram", fit["method"]
            extra.update(timings=fit["timings"], final_loss=fit["final_loss"])
        rows.append(Row("file", subject, n, doc["seconds"], "in-process time, own process", extra))
    path.unlink()
    result_json.unlink(missing_ok=True)
    return rows, info


def extrapolated(rows: list[Row]) -> list[Row]:
    """N = 10^8 for the per-point subjects that would need minutes to hours and gigabytes: the
    N = 10^7 time times 10 (their cost is linear in N)."""
    out = []
    for r in rows:
        if (
            r.workload == "sweep"
            and r.n == 10**7
            and r.subject.startswith(("gradfit manual", "article numpy"))
        ):
            out.append(Row("sweep", r.subject, 10**8, r.seconds * 10, "extrapolated (10 x N=1e7)"))
    return out


def _lin(n: int, start: int, size: int) -> np.ndarray:
    from gradfit.data import linspace_chunk

    return linspace_chunk(-math.pi, math.pi, n, start, min(start + size, n))


def startup() -> dict[str, Any]:
    """Wall time of ``import gradfit.cli`` and of ``gradfit --help`` (min of 5 processes), and
    the heavy modules a NumPy fit imports."""

    def wall(args: list[str]) -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run([sys.executable, *args], capture_output=True, check=True, timeout=60)
            times.append(time.perf_counter() - start)
        return min(times)

    probe = (
        "import sys; from gradfit.cli import main; "
        "main(['fit', '--backend', 'numpy', '--quiet', '--steps', '10', '--seed', '1']); "
        "print(sorted(m for m in ('torch', 'matplotlib', 'sklearn', 'pyarrow') "
        "if m in sys.modules))"
    )
    heavy = (
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
        .stdout.strip()
        .splitlines()[-1]
    )
    return {
        "python_s": wall(["-c", "pass"]),
        "import_numpy_s": wall(["-c", "import numpy"]),
        "import_gradfit_cli_s": wall(["-c", "import gradfit.cli"]),
        "gradfit_help_s": wall(["-m", "gradfit", "--help"]),
        "numpy_fit_heavy_modules": heavy,
    }


# --- report ----------------------------------------------------------------------------------


def ratios(rows: list[Row], check: dict[str, Any], big: list[Row]) -> dict[str, Any]:
    """The issue's targets, from this run's numbers."""

    def get(workload: str, subject: str, n: int) -> Row | None:
        for r in rows:
            if r.workload == workload and r.subject.startswith(subject) and r.n == n:
                return r
        return None

    out: dict[str, Any] = {}
    art, gram = get("article", "article numpy", 2000), get("article", "gradfit gram", 2000)
    if art and gram:
        out["article: article numpy loop / gram (target >= 30)"] = art.seconds / gram.seconds
    if check:
        out["article: gram vs article coefficients, max rel (target <= 1e-9)"] = check[
            "gram_vs_article_max_rel"
        ]
    g7, b7 = get("sweep", "gradfit gram", 10**7), get("sweep", "bare pass", 10**7)
    m7 = get("sweep", "gradfit manual", 10**7)
    if g7 and b7:
        out["N=1e7: gram / bare in-memory pass (target <= 3)"] = g7.seconds / b7.seconds
    if g7 and m7:
        out["N=1e7: manual / gram (target >= 100)"] = m7.seconds / g7.seconds
    for n in FILES:
        g = get("file", "gradfit fit", n)
        bare, load = get("file", "bare pass", n), get("file", "bare read", n)
        if g is None:
            continue
        fit_s = g.extra["timings"]["fit_s"]
        out[f"{n:.0e} .npy: gradfit peak RSS MB (target <= 300)"] = g.extra["peak_rss_mb"]
        if bare:
            out[f"{n:.0e} .npy: gradfit fit_s / bare chunked pass (target <= 3)"] = (
                fit_s / bare.seconds
            )
        if load:
            out[f"{n:.0e} .npy: gradfit fit_s / numpy.load + sum (target <= 3)"] = (
                fit_s / load.seconds
            )
    m8 = get("sweep", "gradfit manual", 10**8)
    g8 = get("file", "gradfit fit", 10**8)
    if m8 and g8:
        out["N=1e8: manual (extrapolated) / gram from file"] = (
            m8.seconds / g8.extra["timings"]["fit_s"]
        )
    return out


def markdown(rows: list[Row], check: dict, big_info: dict, start: dict, targets: dict) -> str:
    lines = [
        f"Machine: {platform.processor() or platform.machine()}, {_cpus()} CPUs, Python "
        f"{platform.python_version()}, NumPy {np.__version__}, {time.strftime('%Y-%m-%d')}.",
        "",
        "| workload | N | subject | time for 2000 steps | how | notes |",
        "| --- | ---: | --- | ---: | --- | --- |",
    ]
    for r in rows:
        notes = ", ".join(f"{k} {_fmt(v)}" for k, v in r.extra.items() if k != "timings")
        if "timings" in r.extra:
            notes += ", " + ", ".join(f"{k} {v:.3f} s" for k, v in r.extra["timings"].items())
        lines.append(
            f"| {r.workload} | {r.n:.0e} | {r.subject} | {_seconds(r.seconds)} | {r.how} | "
            f"{notes} |"
        )
    lines += ["", "| target | measured |", "| --- | ---: |"]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in targets.items()]
    lines += [
        "",
        "Start-up (min of 5 processes): " + ", ".join(f"{k} {_fmt(v)}" for k, v in start.items()),
    ]
    for n, info in big_info.items():
        lines.append(
            f"{n}-point file: {info['file_gb']:.2f} GB, written in {info['write_s']:.1f} s"
        )
    return "\n".join(lines) + "\n"


def plot(rows: list[Row], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    subjects = sorted({r.subject for r in rows if r.workload in ("sweep", "file")})
    for subject in subjects:
        pts = sorted((r.n, r.seconds, r.how) for r in rows if r.subject == subject)
        ns = [p[0] for p in pts]
        ts = [p[1] for p in pts]
        ax.plot(ns, ts, marker="o", label=subject)
        for n, t, how in pts:
            if how.startswith("extrapolated"):
                ax.plot([n], [t], marker="o", mfc="white", color=ax.lines[-1].get_color())
    ax.set(xscale="log", yscale="log", xlabel="N points", ylabel="seconds (2000 steps)")
    ax.set_title("gradfit vs the article's loop (hollow: extrapolated)")
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _coefficients(line: str) -> list[float]:
    formula = line.split("y = ", 1)[1]
    return [float(term.split()[0]) for term in formula.split(" + ")]


def _max_rel(a: Any, b: Any) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def _seconds(s: float) -> str:
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed repeats (default: 3)")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="write JSON")
    parser.add_argument("--plot", type=Path, default=None, metavar="FILE", help="write a PNG")
    parser.add_argument(
        "--max-n", type=float, default=1e8, help="largest N (default: 1e8, the file workload)"
    )
    parser.add_argument("--seed-dir", type=Path, default=None)
    parser.add_argument("--tmp", type=Path, default=None, help="where the big file goes")
    args = parser.parse_args(argv)
    seed_dir = args.seed_dir or default_seed_dir()
    if not (seed_dir / "seed_numpy.py").is_file():
        print(f"the article's scripts are not in {seed_dir}: their rows are left out")
        seed_dir = None
    max_n = int(args.max_n)
    t0 = time.perf_counter()
    rows, check = article_workload(seed_dir, args.repeat)
    print(f"article workload done ({time.perf_counter() - t0:.0f} s)", flush=True)
    rows += sweep_workload(seed_dir, args.repeat, max_n)
    print(f"sweep done ({time.perf_counter() - t0:.0f} s)", flush=True)
    big: list[Row] = []
    big_info: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        for n in (n for n in FILES if n <= max_n):
            file_rows, big_info[f"{n:.0e}"] = file_workload(n, Path(tmp))
            big += file_rows
            print(f"{n:.0e}-point file done ({time.perf_counter() - t0:.0f} s)", flush=True)
    rows += big
    rows += extrapolated(rows)
    start = startup()
    targets = ratios(rows, check, big)
    doc = {
        "rows": [r.__dict__ for r in rows],
        "article_check": check,
        "big_file": big_info,
        "startup": start,
        "targets": targets,
        "total_s": time.perf_counter() - t0,
        "versions": {"python": platform.python_version(), "numpy": np.__version__},
    }
    text = markdown(rows, check, big_info, start, targets)
    print(text)
    if args.plot is not None:
        tmp = args.plot.with_name(args.plot.stem + ".tmp.png")
        plot(rows, tmp)
        if tmp.exists():
            tmp.replace(args.plot)
    if args.json is not None:
        tmp = args.json.with_name(args.json.name + ".tmp")
        tmp.write_text(json.dumps(_jsonable(doc), indent=2) + "\n", encoding="utf-8")
        tmp.replace(args.json)
    print(f"done in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
