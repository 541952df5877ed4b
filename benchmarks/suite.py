"""Every benchmark in one run: the numbers of README.md and docs/performance.md, reproducible.

``python benchmarks/suite.py`` runs each section of ``sections.py`` (the article's scripts
against gradfit, every method per step, start-up, gram's exact jumps, many curves, formula
models, NIST StRD, speed and scale) as its own script in its own process (fresh imports: the
start-up timings and the benchmarks that monkeypatch gradfit share nothing), each writing its
JSON into ``--out``; then the ``summary`` section sets every target of the issue against the
measured value. Each section's Markdown goes to ``--out/NAME.md`` (all of them to
``suite.md``), preceded by a stamp line: the commit, the machine, the date and the command that
reproduces it.

``--update-docs`` rewrites, in README.md and docs/*.md, every block between
``<!-- suite:NAME -->`` and ``<!-- /suite:NAME -->`` with section NAME's Markdown from this run
(only the sections run; the others stay as they are), and the figure
``docs/img/performance-time-vs-n.png`` from the scale section. ``--render-only`` rebuilds the
Markdown (and, with ``--update-docs``, the docs) from the JSON files already in ``--out``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import sections
from sections import SECTIONS, Options

REPO = Path(__file__).resolve().parents[1]
HERE = REPO / "benchmarks"
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FIGURE = REPO / "docs" / "img" / "performance-time-vs-n.png"
BLOCK = re.compile(r"<!-- suite:([\w-]+) -->\n(.*?)<!-- /suite:\1 -->", re.S)
OPEN = re.compile(r"<!-- suite:([\w-]+) -->")
CLOSE = re.compile(r"<!-- /suite:([\w-]+) -->")
SECTION_TIMEOUT_S = 1800


# --- the stamp line -----------------------------------------------------------------------------


def _git(*args: str) -> str:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return proc.stdout


def commit() -> str:
    """The short commit, plus "+ uncommitted changes" when tracked files under src/ or
    benchmarks/ differ from it (untracked files do not count: they change no measured code)."""
    head = _git("rev-parse", "--short", "HEAD").strip() or "unknown"
    status = _git("status", "--porcelain", "--untracked-files=no", "--", "src", "benchmarks")
    return head + (" + uncommitted changes" if status.strip() else "")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def gpu() -> str:
    """The GPUs ``nvidia-smi -L`` lists, or "no GPU" (the suite times the CPU either way)."""
    if shutil.which("nvidia-smi") is None:
        return "no GPU"
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "no GPU"
    names = [line.split(":", 1)[1].split("(")[0].strip() for line in out.stdout.splitlines()]
    return f"GPU present ({', '.join(names)}; not used)" if names else "no GPU"


def machine() -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "torch": _version("torch"),
        "gpu": gpu(),
    }


def command(name: str, args: argparse.Namespace) -> str:
    """The command line that reproduces section ``name`` (the summary: the whole suite)."""
    cmd = ["python", "benchmarks/suite.py"]
    if name != "summary":
        cmd += ["--only", ",".join([*SECTIONS[name].needs, name])]
    if args.repeat is not None:
        cmd += ["--repeat", str(args.repeat)]
    if name in ("scale", "summary") and args.max_n != 1e8:
        cmd += ["--max-n", f"{args.max_n:g}"]
    return " ".join(cmd)


def stamp(meta: dict[str, Any]) -> str:
    """The line above every section's Markdown."""
    m = meta["machine"]
    return (
        f"_Measured on commit `{meta['commit']}`, {m['cpu']}, {m['cpus']} CPUs, Python "
        f"{m['python']}, NumPy {m['numpy']}, torch {m['torch']}, {m['gpu']}, {meta['date']}; "
        f"reproduce: `{meta['command']}`._"
    )


# --- running ------------------------------------------------------------------------------------


def run_section(name: str, opts: Options, out: Path) -> tuple[int, float]:
    """Run section ``name``'s script in a fresh process; its JSON goes to ``out/NAME.json`` (via
    a temp file), its output to ``out/NAME.log``. Returns (exit status, seconds)."""
    section = SECTIONS[name]
    assert section.script is not None
    target = out / f"{name}.json"
    tmp = out / f"{name}.json.tmp"
    tmp.unlink(missing_ok=True)
    argv = [sys.executable, str(HERE / section.script), *section.argv(opts, tmp, out)]
    if name == "scale":
        argv += ["--plot", str(out / "scale.png")]
    start = time.perf_counter()
    with open(out / f"{name}.log", "w", encoding="utf-8") as log:
        log.write(" ".join(argv) + "\n\n")
        log.flush()
        stdout = subprocess.PIPE if section.json_on_stdout else log
        try:
            proc = subprocess.run(
                argv, cwd=HERE, stdout=stdout, stderr=log, text=True, timeout=SECTION_TIMEOUT_S
            )
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            log.write(f"\ntimed out after {SECTION_TIMEOUT_S} s\n")
            return 124, time.perf_counter() - start
    if section.json_on_stdout and rc == 0:
        tmp.write_text(proc.stdout, encoding="utf-8")
    seconds = time.perf_counter() - start
    if rc == 0 and tmp.is_file():
        json.loads(tmp.read_text(encoding="utf-8"))  # a JSON that does not parse is a failure
        tmp.replace(target)
    elif rc == 0:
        rc = 1
    return rc, seconds


def load(out: Path, name: str) -> dict[str, Any] | None:
    path = out / f"{name}.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def section_markdown(name: str, out: Path) -> str:
    """Section ``name``'s stamp line and Markdown, from the files in ``out``."""
    meta = load(out, f"{name}.meta")
    if meta is None:
        raise FileNotFoundError(f"{out}/{name}.meta.json: section {name} has not been run there")
    if SECTIONS[name].script is None:
        doc: dict[str, Any] | None = {n: d for n in SECTIONS if (d := load(out, n)) is not None}
    else:
        doc = load(out, name)
        if doc is None:
            raise FileNotFoundError(f"{out}/{name}.json: section {name} has no result there")
    return stamp(meta) + "\n\n" + sections.render(name, doc).rstrip("\n") + "\n"


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file and a rename (no half-written file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


# --- the docs -----------------------------------------------------------------------------------


def check_blocks(text: str, where: str) -> list[str]:
    """The names of the suite blocks in ``text``, in order; ValueError if one is not closed,
    closes another, or names a section the suite does not know."""
    names = []
    opens, closes = OPEN.findall(text), CLOSE.findall(text)
    blocks = BLOCK.findall(text)
    if len(opens) != len(closes) or len(blocks) != len(opens):
        raise ValueError(f"{where}: suite blocks not closed or nested ({opens} / {closes})")
    for name, _ in blocks:
        if name not in SECTIONS:
            raise ValueError(f"{where}: unknown suite section {name!r} (known: {list(SECTIONS)})")
        names.append(name)
    return names


def replace_blocks(text: str, markdown: dict[str, str], where: str = "text") -> str:
    """``text`` with the body of every block of a section in ``markdown`` replaced."""
    check_blocks(text, where)

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in markdown:
            return m.group(0)
        return f"<!-- suite:{name} -->\n{markdown[name]}<!-- /suite:{name} -->"

    return BLOCK.sub(sub, text)


def update_docs(markdown: dict[str, str], paths: list[Path]) -> list[Path]:
    """Rewrite the suite blocks of ``paths``; every file is checked before any is written.
    Returns the files changed."""
    texts = {p: p.read_text(encoding="utf-8") for p in paths}
    new = {p: replace_blocks(t, markdown, str(p)) for p, t in texts.items()}
    changed = [p for p in paths if new[p] != texts[p]]
    for p in changed:
        write_text(p, new[p])
    return changed


def _show(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


# --- main ---------------------------------------------------------------------------------------


def _names(text: str | None, parser: argparse.ArgumentParser) -> list[str]:
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    return names


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", metavar="A,B", help=f"sections to run ({','.join(SECTIONS)})")
    parser.add_argument("--skip", metavar="A,B", help="sections to leave out")
    parser.add_argument(
        "--repeat", type=int, default=None, help="timed repeats (default: each section's own)"
    )
    parser.add_argument(
        "--max-n", type=float, default=1e8, help="largest N of the scale section (default 1e8)"
    )
    parser.add_argument("--seed-dir", type=Path, default=None, metavar="PATH")
    parser.add_argument("--out", type=Path, default=HERE / "results", metavar="DIR")
    parser.add_argument(
        "--update-docs", action="store_true", help="rewrite the suite blocks of README and docs"
    )
    parser.add_argument(
        "--render-only", action="store_true", help="measure nothing: use the JSON in --out"
    )
    args = parser.parse_args(argv)
    only, skip = _names(args.only, parser), _names(args.skip, parser)
    args.sections = [n for n in SECTIONS if (not only or n in only) and n not in skip]
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    opts = Options(args.repeat, args.max_n, args.seed_dir)
    if args.update_docs:  # fail before measuring anything, not after
        for path in DOCS:
            check_blocks(path.read_text(encoding="utf-8"), str(path))
    info, date = machine(), datetime.date.today().isoformat()
    t0 = time.perf_counter()
    failed: list[str] = []
    times: dict[str, float] = {}
    if not args.render_only:
        for name in args.sections:
            if SECTIONS[name].script is not None:
                print(f"{name}: running {SECTIONS[name].script} ...", flush=True)
                rc, times[name] = run_section(name, opts, out)
                print(f"{name}: exit {rc}, {times[name]:.0f} s", flush=True)
                if rc != 0:
                    failed.append(name)
                    print(f"{name}: FAILED, see {out / (name + '.log')}", flush=True)
                    continue
            meta = {"commit": commit(), "machine": info, "date": date}
            meta.update(command=command(name, args), seconds=times.get(name))
            write_text(out / f"{name}.meta.json", json.dumps(meta, indent=2) + "\n")
    markdown = {}
    for name in args.sections:
        if name in failed:
            continue
        try:
            markdown[name] = section_markdown(name, out)
        except FileNotFoundError as exc:
            print(f"{name}: {exc}")
            failed.append(name)
            continue
        write_text(out / f"{name}.md", markdown[name])
    total = time.perf_counter() - t0
    whole = "\n".join(f"## {SECTIONS[n].title}\n\n{md}" for n, md in markdown.items())
    write_text(out / "suite.md", whole)
    if not args.render_only:
        doc = {"sections": times, "failed": failed, "total_s": total, "machine": info}
        write_text(out / "suite.json", json.dumps(doc, indent=2) + "\n")
    print(whole)
    if args.update_docs:
        changed = update_docs(markdown, DOCS)
        if "scale" in markdown and (out / "scale.png").is_file():
            tmp = FIGURE.with_name(f".{FIGURE.name}.tmp")
            shutil.copyfile(out / "scale.png", tmp)
            tmp.replace(FIGURE)
            changed.append(FIGURE)
        print("updated " + (", ".join(_show(p) for p in changed) or "nothing"))
    print(
        f"suite: {len(markdown)} sections in {total:.0f} s" + (f"; FAILED: {failed}" * bool(failed))
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
