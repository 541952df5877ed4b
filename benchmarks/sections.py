"""The sections of ``benchmarks/suite.py``: which script each runs, with which arguments, and how
its JSON becomes the Markdown that docs/performance.md and README.md show.

A section's script runs in its own process (``suite.py`` does that) and writes one JSON file;
:func:`render` turns that document into Markdown without measuring anything, so the tables can
be rebuilt, and tested, from a recorded run. The ``summary`` section measures nothing itself: it
reads the other sections' documents and sets each of the issue's targets against its measured
value.
"""

from __future__ import annotations

import math
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the benchmark modules whose report functions are reused
    sys.path.insert(0, str(HERE))


@dataclass(frozen=True)
class Options:
    """What a run of the suite was asked for (None: each section's own default)."""

    repeat: int | None = None
    max_n: float = 1e8
    seed_dir: Path | None = None


@dataclass(frozen=True)
class Section:
    """One benchmark: its script in benchmarks/ (None for a section built from the others), its
    default number of repeats, and how its JSON becomes Markdown."""

    name: str
    title: str
    script: str | None
    repeat: int
    render: Callable[[dict[str, Any]], str]
    json_on_stdout: bool = False  # bench_formula.py prints its JSON instead of writing a file
    needs: tuple[str, ...] = ()  # for a section without a script: the sections it reads
    takes_repeat: bool = True  # bench_distributed.py has its own counts, no --repeat
    extra: Callable[[Options], list[str]] = lambda o: []

    def argv(self, opts: Options, json_file: Path, out: Path) -> list[str]:
        """The script's arguments (after the interpreter and the script's path)."""
        args = ["--repeat", str(opts.repeat or self.repeat)] if self.takes_repeat else []
        if not self.json_on_stdout:
            args += ["--json", str(json_file)]
        else:
            args += ["--json"]
        return args + self.extra(opts)


# --- formatting ---------------------------------------------------------------------------------


def _ms(seconds: float | None, digits: int = 1) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    return f"{seconds * 1e3:.{digits}f} ms" if seconds < 10 else f"{seconds:.1f} s"


def _x(ratio: float | None) -> str:
    if ratio is None or math.isnan(ratio):
        return "-"
    return f"{ratio:.3g}x"


def _table(head: list[str], rows: list[list[str]], align: str | None = None) -> str:
    """A Markdown table; ``align``: one letter per column, ``l`` or ``r`` (default: first left,
    the rest right)."""
    align = align or "l" + "r" * (len(head) - 1)
    marks = ["---" if a == "l" else "---:" for a in align]
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


# --- article: bench_article.py ------------------------------------------------------------------


def render_article(doc: dict[str, Any]) -> str:
    """Loop-only and whole-process times of the article's scripts and gradfit, both backends."""
    rows = []
    for backend, dtype in (("numpy", "NumPy float64"), ("torch", "PyTorch float32 CPU")):
        loop = doc["loop"].get(backend)
        if loop and "article" in loop:
            rows.append(
                [
                    f"loop only, {dtype}",
                    _ms(loop["article"]["min"]),
                    _ms(loop["gradfit_loop"]["min"]),
                    _x(loop["ratio_loop"]),
                    f"{loop['loss_max_rel_diff']:.1e}",
                ]
            )
    for backend in ("numpy", "torch"):
        proc = doc["process"].get(backend)
        if proc and "article" in proc:
            rows.append(
                [
                    f"whole process, {backend} (`python seed_{backend}.py` vs `python -m gradfit "
                    f"fit --backend {backend} --init ... --quiet`)",
                    _ms(proc["article"]["min"], 0),
                    _ms(proc["gradfit"]["min"], 0),
                    _x(proc["ratio"]),
                    "",
                ]
            )
    head = ["measurement", "article (min)", "gradfit (min)", "gradfit / article"]
    head.append("losses: max rel. difference")
    return f"Minimum of {doc['repeat']} runs each, the two sides taking turns.\n\n" + _table(
        head, rows
    )


# --- methods: bench_methods.py ------------------------------------------------------------------

SPLIT_LABELS = {
    "forward": "forward + loss",
    "backward": "loss.backward()",
    "zero_grad": "zeroing the gradients (each its own way)",
    "update": "update (optimizer or by hand)",
    "loop": "the rest of the loop",
    "total": "total per step",
}


def render_methods(doc: dict[str, Any]) -> str:
    """Per-step time of every method against the article's loops and the tutorial's programs,
    then where a step's time goes (autograd and nn, gradfit against the tutorial)."""
    steps = doc["per_step_s"]
    rows = []
    for key, t in steps.items():
        backend = "numpy float64" if key.endswith("/numpy") else "torch float32"
        ref = steps.get(f"article/{backend.split()[0]}")
        vs = f"{t['min'] / ref['min']:.2f}" if ref else "-"
        diff = doc["loss_max_rel_diff"].get(key)
        rows.append(
            [
                t["label"],
                backend,
                f"{t['min'] * 1e6:.1f}",
                f"{t['median'] * 1e6:.1f}",
                vs,
                "-" if diff is None else f"{diff:.1e}",
            ]
        )
    head = ["run", "backend", "min (us)", "median (us)", "vs the article's loop (min)"]
    head.append("losses vs the article's")
    out = [
        f"{doc['steps']} steps, {doc['points']} points; microseconds per step, min and median "
        f"of {doc['repeat']} rounds.",
        "",
        _table(head, rows, "llrrrr"),
        "",
        _table(
            ["ratio (min over min)", "value"],
            [[name, f"{value:.2f}"] for name, value in doc["ratios"].items()],
        ),
    ]
    split = doc.get("split") or {}
    if split:
        cols = [(name, impl) for name in split for impl in ("gradfit", "tutorial")]
        n_big = max(int(n) for n in split[cols[0][0]]["gradfit"])
        n_small = min(int(n) for n in split[cols[0][0]]["gradfit"])
        head = ["stage (us per step, ATen ops)"]
        head += [f"{impl} {name}, N={n}" for name, impl in cols for n in (n_big, n_small)]
        rows = []
        for key, label in SPLIT_LABELS.items():
            row = [label]
            for name, impl in cols:
                for n in (n_big, n_small):
                    cell = split[name][impl][str(n)][key]
                    ops = "" if cell["ops"] is None or n != n_big else f" ({cell['ops']:.0f})"
                    row.append(f"{cell['s'] * 1e6:.1f}{ops}")
            rows.append(row)
        out += ["", "Where a step's time goes (torch float32, CPU):", "", _table(head, rows)]
    return "\n".join(out)


# --- sections reusing their script's own Markdown -----------------------------------------------


def render_startup(doc: dict[str, Any]) -> str:
    import bench_startup

    return bench_startup.markdown(doc)


def render_jumps(doc: dict[str, Any]) -> str:
    import bench_jumps

    return bench_jumps.report(doc, markdown=True)


def render_many(doc: dict[str, Any]) -> str:
    import bench_many

    return bench_many.markdown(doc).rstrip("\n")


def render_formula(doc: dict[str, Any]) -> str:
    import bench_formula

    text = bench_formula.report(doc, markdown=True)
    # The last line is the machine: the stamp line says it already.
    text = text.rsplit("\n\n", 1)[0] if text.endswith(doc["machine"]) else text
    return f"Fastest of {doc['repeat']} rounds, the contenders taking turns.\n\n{text}"


def render_nist(doc: dict[str, Any]) -> str:
    import nonlinear

    lines = [nonlinear.table(doc["rows"], markdown=True), ""]
    lines += [f"- {line}" for line in doc["summaries"].values()]
    return "\n".join(lines)


# --- distributed: bench_distributed.py -----------------------------------------------------------


def render_distributed(doc: dict[str, Any]) -> str:
    """All_reduce latency, and steps/s or rows/s with one process and with two."""
    ar = doc["allreduce_us"]
    one, two = ar["1"], ar["2"]
    rows = [
        [
            "one all_reduce of 5 float64 numbers, us (median / mean)",
            f"{one['median_us']:.0f} / {one['mean_us']:.0f}",
            f"{two['median_us']:.0f} / {two['mean_us']:.0f}",
            "",
        ]
    ]
    for fit in doc["fits"]:
        a, b = fit["steps_per_s"]
        what = f"manual, {fit['points']:,} points ({fit['steps']} steps), steps/s"
        rows.append([what, f"{a:,.0f}", f"{b:,.0f}", f"{b / a:.2f}"])
    for gram in doc["gram"]:
        a, b = gram["rows_per_s"]
        what = f"gram statistics pass, {gram['source']}, rows/s"
        rows.append([what, f"{a:.3g}", f"{b:.3g}", f"{b / a:.2f}"])
    head = ["", "1 process", "2 processes", "ratio"]
    return f"gloo on 127.0.0.1, NumPy float64, {doc['cpus']} CPUs.\n\n" + _table(head, rows)


# --- scale: bench_scale.py ----------------------------------------------------------------------


def _scale_rows(doc: dict[str, Any], workload: str) -> list[dict[str, Any]]:
    return [r for r in doc["rows"] if r["workload"] == workload]


def _scale_cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return "-"
    t = row["seconds"]
    text = f"{t * 1e3:.1f} ms" if t < 1 else f"{t:.2f} s" if t < 100 else f"{t:.0f} s"
    return text + (" (extrap.)" if row["how"].startswith("extrapolated") else "")


def render_scale(doc: dict[str, Any]) -> str:
    """The article's problem, N points in memory (one column per subject), files on disk, and
    the targets this workload checks."""
    art = _scale_rows(doc, "article")
    base = next((r["seconds"] for r in art if r["subject"].startswith("article numpy")), None)
    rows = [
        [r["subject"], _scale_cell(r), f"{base / r['seconds']:.3g}" if base else "-"] for r in art
    ]
    out = [
        "The article's problem (2000 points, 2000 steps, lr 1e-6):",
        "",
        _table(["subject", "time", "the article's NumPy loop / this"], rows),
    ]
    check = doc.get("article_check") or {}
    if check:
        out += [
            "",
            f"gram's final coefficients against the article's printed ones: max relative "
            f"difference {check['gram_vs_article_max_rel']:.1e}.",
        ]
    sweep = _scale_rows(doc, "sweep")
    subjects = list(dict.fromkeys(r["subject"] for r in sweep))
    ns = sorted({r["n"] for r in sweep})
    table = []
    for n in ns:
        cells = {r["subject"]: r for r in sweep if r["n"] == n}
        table.append([f"10^{round(math.log10(n))}"] + [_scale_cell(cells.get(s)) for s in subjects])
    out += [
        "",
        "N points in memory (sin(x) on [-pi, pi], cubic, lr 2e-3 / N, 2000 steps; extrap.: a "
        "few steps timed and multiplied, or at 10^8 the 10^7 time x 10):",
        "",
        _table(["N", *subjects], table),
    ]
    files = _scale_rows(doc, "file")
    if files:
        table = []
        for n in sorted({r["n"] for r in files}):
            cells = {r["subject"].split(" (")[0]: r for r in files if r["n"] == n}
            row = [f"10^{round(math.log10(n))}", f"{doc['big_file'][f'{n:.0e}']['file_gb']:.2f} GB"]
            for r in cells.values():
                cell = f"{_scale_cell(r)}, {r['extra']['peak_rss_mb']:.0f} MB peak RSS"
                if "timings" in r["extra"]:
                    cell = f"`fit_s` {r['extra']['timings']['fit_s'] * 1e3:.1f} ms; run " + cell
                row.append(cell)
            table.append(row)
        head = ["N", "file", *cells]
        out += ["", "Files on disk, each subject in its own process:", "", _table(head, table)]
    targets = [[k, f"{v:.3g}"] for k, v in doc["targets"].items()]
    out += ["", _table(["target", "measured"], targets)]
    start = doc.get("startup") or {}
    if start:
        rows = [[STARTUP.get(k, k), _ms(v, 0)] for k, v in start.items() if isinstance(v, float)]
        out += ["", _table(["start-up (min of 5 processes)", "time"], rows)]
        out += ["", f"Heavy modules a NumPy fit imports: {start['numpy_fit_heavy_modules']}."]
    return "\n".join(out)


STARTUP = {
    "python_s": "`python -c pass`",
    "import_numpy_s": '`python -c "import numpy"`',
    "import_gradfit_cli_s": '`python -c "import gradfit.cli"`',
    "gradfit_help_s": "`gradfit --help`",
}


def _scale_extra(opts: Options) -> list[str]:
    return ["--max-n", f"{opts.max_n:g}"]


def _seed_extra(opts: Options) -> list[str]:
    return [] if opts.seed_dir is None else ["--seed-dir", str(opts.seed_dir)]


# --- summary: the targets ---------------------------------------------------------------


def _get(doc: dict[str, Any] | None, *keys: Any) -> Any:
    for key in keys:
        if doc is None:
            return None
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc


def targets(docs: dict[str, dict[str, Any]]) -> list[tuple[str, str, str, bool | None]]:
    """(target, goal, measured, met) for every target of the issue, from this run's documents
    (a section not measured gives "not measured")."""
    out: list[tuple[str, str, str, bool | None]] = []

    def add(what: str, goal: str, value: float | None, fmt: str, met: bool | None) -> None:
        out.append((what, goal, "not measured" if value is None else fmt.format(value), met))

    startup = {r["label"]: r for r in (_get(docs, "startup", "rows") or [])}
    fit = startup.get("gradfit fit --backend numpy --quiet")
    ratio = fit["ratio"] if fit and fit.get("ref") else None
    add("gradfit NumPy whole process / `python seed_numpy.py` (paired, median)", "<= 1.1x",
        ratio, "{:.2f}x", None if ratio is None else ratio <= 1.1)  # fmt: skip
    for label in ("gradfit --help", "gradfit fit --help"):
        t = _get(startup, label, "median")
        add(f"`{label}` (median)", "< 0.15 s", t, "{:.3f} s", None if t is None else t < 0.15)
    jumps = docs.get("jumps")
    r = _get(jumps, "gram_jumps", "article_over_fit")
    add("gram with exact jumps: the article's NumPy loop / gradfit.fit", ">= 100x", r, "{:.0f}x",
        None if r is None else r >= 100)  # fmt: skip
    t = _get(jumps, "gram_jumps_1e9", "fit_s")
    add("gram, `--steps 10**9`: whole gradfit.fit", "well under 1 s (< 0.1 s)",
        None if t is None else t * 1e3, "{:.2f} ms", None if t is None else t < 0.1)  # fmt: skip
    many = docs.get("many")
    # The target against the fastest single fit (gram, exact jumps); method auto on one curve
    # of 2000 points keeps the article's per-point loop, so that row is shown, not judged.
    r = _get(many, "ratios", "K curves / one curve (gram)")
    add("1000 curves of 2000 points / one curve, both gram", "<= 3x", r, "{:.2f}x",
        None if r is None else r <= 3)  # fmt: skip
    keys = ("K curves / one curve (auto)", "K curves / numpy.polyfit loop")
    for key in (*keys, "K curves / numpy.polyfit 2-D Y"):
        r = _get(many, "ratios", key)
        add(f"1000 curves / {key.split(' / ')[1]}", "-", r, "{:.2f}x", None)
    formula = docs.get("formula")
    r = _get(formula, "per_step_median_grad_ratio")
    add("formula per step (forward + gradient) / hand-written NumPy, median", "<= 1.5x", r,
        "{:.2f}x", None if r is None else r <= 1.5)  # fmt: skip
    lm = _get(formula, "lm_fit")
    if lm is None:
        add(
            "lm whole fit / scipy least_squares, median over the NIST rows", "<= 2x", None, "", None
        )
    else:
        text = f"{lm['median_ratio']:.2f}x ({lm['within_2x']}/{len(lm['rows'])} rows within 2x)"
        out.append(("lm whole fit / scipy least_squares, median over the NIST rows", "<= 2x", text,
                    lm["median_ratio"] <= 2))  # fmt: skip
    nist = _get(docs, "nist", "rows")
    if nist:
        ratios = [
            row["results"]["gradfit lm"]["min_ms"] / row["results"]["scipy lm"]["min_ms"]
            for row in nist
        ]
        r = statistics.median(ratios)
        add("the LM stepper alone / scipy lm, median over the NIST rows", "<= 2x", r, "{:.2f}x",
            r <= 2)  # fmt: skip
    else:
        add("the LM stepper alone / scipy lm, median over the NIST rows", "<= 2x", None, "", None)
    for backend in ("numpy", "torch"):
        r = _get(docs, "article", "loop", backend, "ratio_loop")
        add(f"gradfit loop / the article's loop, {backend}", "<= 1.1x", r, "{:.2f}x",
            None if r is None else r <= 1.1)  # fmt: skip
    scale = _get(docs, "scale", "targets") or {}
    r = scale.get("N=1e7: manual / gram (target >= 100)")
    add("N = 10^7: manual / gram", ">= 100x", r, "{:.0f}x", None if r is None else r >= 100)
    r = scale.get("1e+08 .npy: gradfit peak RSS MB (target <= 300)")
    add("10^8-point `.npy` file: gradfit's peak RSS", "<= 300 MB", r, "{:.0f} MB",
        None if r is None else r <= 300)  # fmt: skip
    return out


def render_summary(docs: dict[str, Any]) -> str:
    """One table: every target, its goal, the measured value, met or not."""
    rows = [
        [what, goal, value, "-" if met is None else ("met" if met else "**not met**")]
        for what, goal, value, met in targets(docs)
    ]
    return _table(["target", "goal", "measured", "met"], rows, "llrl")


def render_formula_summary(docs: dict[str, Any]) -> str:
    """Formula models in a few lines (README's "Fit any formula"): NIST accuracy and time
    against scipy, and a step against hand-written NumPy."""
    lines = []
    nist = docs.get("nist")
    if nist:
        lines += [f"- {line}" for line in nist["summaries"].values()]
    formula = docs.get("formula")
    if formula:
        lm = formula["lm_fit"]
        lines.append(
            f"- Per step, a formula model's prediction and gradient take a median "
            f"{formula['per_step_median_grad_ratio']:.2f}x the hand-written NumPy time "
            f'(`bench_formula.py`); the whole `gradfit.fit(optimizer="lm")` a median '
            f'{lm["median_ratio"]:.2f}x `least_squares(method="lm")`\'s, {lm["within_2x"]}/'
            f"{len(lm['rows'])} rows within 2x."
        )
    return "\n".join(lines) or "Not measured."


SECTIONS: dict[str, Section] = {
    s.name: s
    for s in (
        Section("article", "The article's scripts against gradfit", "bench_article.py", 5,
                render_article, extra=_seed_extra),
        Section("methods", "Every method, per step", "bench_methods.py", 3, render_methods,
                extra=_seed_extra),
        Section("startup", "Start-up", "bench_startup.py", 10, render_startup,
                extra=_seed_extra),
        Section("jumps", "gram's exact jumps", "bench_jumps.py", 5, render_jumps,
                extra=_seed_extra),
        Section("many", "Many curves at once", "bench_many.py", 5, render_many),
        Section("formula", "Formula models", "bench_formula.py", 5, render_formula,
                json_on_stdout=True),
        Section("nist", "NIST StRD accuracy and time", "nonlinear.py", 3, render_nist),
        Section("scale", "Speed and scale", "bench_scale.py", 3, render_scale,
                extra=lambda o: _scale_extra(o) + _seed_extra(o)),
        Section("distributed", "Several processes", "bench_distributed.py", 1,
                render_distributed, takes_repeat=False),
        Section("formula-summary", "Formula models in short", None, 1, render_formula_summary,
                needs=("formula", "nist")),
        Section("summary", "The targets", None, 1, render_summary,
                needs=("article", "startup", "jumps", "many", "formula", "nist", "scale")),
    )
}  # fmt: skip


def render(name: str, doc: dict[str, Any]) -> str:
    """Section ``name``'s Markdown (without the stamp line); for a section without a script
    (``summary``), ``doc`` maps each other section's name to its document."""
    return SECTIONS[name].render(doc)
