"""The documentation's examples run, and print what the documentation says they print.

What is checked:

* Every ``$ `` line inside a fenced block of ``README.md`` and ``docs/*.md`` is run, in order
  per file, in one temporary directory per file (so ``--save model.json`` before
  ``gradfit predict model.json`` works as a reader would type it). The lines after it, up to
  the next ``$ `` line or the end of the block, are the output it must print: stdout and
  stderr together, as a terminal shows them. A block with no such lines checks only the exit
  status.
* Every ```python block of those files runs (``test_python_examples``), in order per file.
* Every example line of ``gradfit COMMAND --help`` (the ``examples:`` sections) runs and exits
  as its text says: 0, except ``gradfit doctor torch.py``, which checks a script named like
  the module it hides and so fails (exit 1, as the help's "exit status" line says); it runs in
  a directory of its own, ``shadow/``, whose ``torch.py`` would hide PyTorch from the others.

Exit status: 0, unless the shown output has a ``gradfit: error:`` line (1 for ``diverged``,
else 2), a ``^C`` line (130) or a ``FAIL`` line of ``gradfit doctor`` (1).

Markers for output that legitimately varies (documented for readers in README.md, "Reading
the examples"), kept rare:

* ``...`` alone on a line stands for any number of lines (none included);
* ``...`` inside a line stands for any text on that line (a drawn seed, a step count);
* a table column headed ``us/step`` (timings) is not compared;
* ``^C`` in the output: the test sends SIGINT (Ctrl-C) to the command once its first
  checkpoint file exists; the ``^C`` line itself is the terminal's echo, not compared;
* ``<!-- docs-test: output not compared -->`` on the line before a block: its commands run
  (exit status checked) but their output depends on the machine (``gradfit doctor``).

Reduced sizes (the command as printed must work; the test runs a smaller one where the
printed one would take minutes), see ``REDUCTIONS``: ``--points 100000000`` runs with 10^6
points; the checkpoint examples' ``--steps 100000`` / ``--steps 200000`` run 10000 / 20000
steps (the README's run is interrupted after its first checkpoint either way);
``torchrun --nproc-per-node 4`` runs 2 processes; help examples of ``compare``, ``--workers``
and ``torchrun`` that give no ``--steps`` run 200 steps (their output is not compared);
``big.npy`` is a 10^5-row file made here. Files the examples read (``points.csv``,
``new.csv``, ``new.npy``, ``log.parquet``, ``big.npy``, ``model.json``, ``train.py``,
``project/``, ``shadow/``) are made in the temporary directory first; ``docs/points.csv`` is the
repository's own sample.

Commands run in-process through :func:`gradfit.cli.main` (fast, and output compared exactly),
except ``--workers``, ``torchrun`` and ``^C`` examples, which need real processes.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib.util
import io
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from gradfit.cli import main

REPO = Path(__file__).resolve().parents[1]
DOC_FILES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
HELP_COMMANDS = ["fit", "explain", "compare", "landscape", "predict", "doctor", "presets", "learn"]
NOT_COMPARED = "<!-- docs-test: output not compared -->"

# (pattern, replacement): what the test runs instead of a command too large for a test.
REDUCTIONS: list[tuple[str, str]] = [
    (r"--points 100000000\b", "--points 1000000"),
    (r"--nproc-per-node 4\b", "--nproc-per-node 2"),
    (r"--steps 100000\b", "--steps 10000"),
    (r"--steps 200000\b", "--steps 20000"),
]


@dataclass
class Example:
    """One command of the documentation and, when shown, the output it must print."""

    where: str
    command: str
    expected: list[str] | None = None  # None: only the exit status is checked
    exit_code: int = 0
    interrupt: bool = False  # press Ctrl-C once its first checkpoint is written


def _exit_code(shown: list[str]) -> int:
    for line in shown:
        if line.strip() == "^C":
            return 130
        if line.startswith("gradfit: error:"):
            return 1 if "diverged" in line else 2
        if line.startswith("FAIL "):  # gradfit doctor: a check failed
            return 1
    return 0


def doc_examples(path: Path) -> list[Example]:
    """The ``$ `` commands of one Markdown file, with the output shown under each."""
    examples: list[Example] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    in_block = compared = False
    current: Example | None = None
    not_compared: set[int] = set()  # indexes into examples
    previous = ""
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            in_block = not in_block
            compared = previous.strip() != NOT_COMPARED
            current = None
        elif in_block and line.startswith("$ "):
            current = Example(f"{path.name}:{number}", line[2:], [])
            if not compared:
                not_compared.add(len(examples))
            examples.append(current)
        elif in_block and current is not None and current.expected is not None:
            current.expected.append(line)
        if line.strip():
            previous = line
    for i, ex in enumerate(examples):
        shown = ex.expected or []
        ex.exit_code = _exit_code(shown)
        ex.interrupt = ex.exit_code == 130
        if i in not_compared or not any(s.strip() for s in shown):
            ex.expected = None  # nothing shown, or marked: only the exit status is checked
    return examples


def python_blocks(path: Path) -> list[tuple[str, str]]:
    """The ```python blocks of one Markdown file: (where, source)."""
    blocks, current, start = [], None, 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if current is None and line.strip() == "```python":
            current, start = [], number
        elif current is not None and line.startswith("```"):
            blocks.append((f"{path.name}:{start}", "\n".join(current) + "\n"))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def help_text(command: str) -> str:
    """``gradfit COMMAND --help``, as printed."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit):
        main([command, "--help"])
    return buf.getvalue()


def help_examples(command: str) -> list[Example]:
    """The command lines of the ``examples:`` sections of ``gradfit COMMAND --help``."""
    examples = []
    in_examples = False
    for line in help_text(command).splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):
            in_examples = line.rstrip().endswith(("examples:", "example:"))
        elif in_examples:
            cmd = re.split(r"\s{2,}", line.strip())[0]  # the description follows 2+ spaces
            slow = command == "compare" or "--workers" in cmd or cmd.startswith("torchrun")
            if slow and "--steps" not in cmd:
                cmd += " --steps 200"  # output not compared: fewer steps, same code paths
            examples.append(Example(f"gradfit {command} --help", cmd))
    return examples


# --- the files the examples read -------------------------------------------------------


def make_workspace(where: Path) -> Path:
    """A directory holding every file an example reads."""
    where.mkdir(parents=True, exist_ok=True)
    (where / "docs").mkdir(exist_ok=True)
    shutil.copy(REPO / "docs" / "points.csv", where / "docs" / "points.csv")
    shutil.copy(REPO / "docs" / "points.csv", where / "points.csv")
    shutil.copy(REPO / "docs" / "misra1a.csv", where / "docs" / "misra1a.csv")
    shutil.copy(REPO / "docs" / "misra1a.csv", where / "misra1a.csv")
    shutil.copy(REPO / "docs" / "errors.csv", where / "docs" / "errors.csv")
    shutil.copy(REPO / "docs" / "errors.csv", where / "errors.csv")
    shutil.copy(REPO / "docs" / "sensors.csv", where / "docs" / "sensors.csv")
    shutil.copy(REPO / "docs" / "sensors.csv", where / "sensors.csv")
    rng = np.random.default_rng(0)
    xs = np.linspace(0.0, 20.0, 7)
    (where / "new.csv").write_text("x\n" + "".join(f"{v}\n" for v in xs), encoding="utf-8")
    np.save(where / "new.npy", xs)
    big_x = rng.uniform(-3, 3, 100_000)
    np.save(where / "big.npy", np.column_stack([big_x, np.sin(big_x)]))
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - the test extra installs pyarrow
        pass
    else:
        t = np.linspace(0.0, 10.0, 50)
        table = pa.table({"time": t, "temp": 20 + 0.5 * t - 0.03 * t**2 + rng.normal(0, 0.1, 50)})
        pq.write_table(table, where / "log.parquet")
    (where / "train.py").write_text("import torch\nprint(torch.rand(5, 3))\n", encoding="utf-8")
    (where / "project").mkdir(exist_ok=True)
    (where / "project" / "train.py").write_text("import torch\n", encoding="utf-8")
    (where / "project" / "torch.py").write_text("x = 1\n", encoding="utf-8")
    (where / "shadow").mkdir(exist_ok=True)
    (where / "shadow" / "torch.py").write_text("import torch\n", encoding="utf-8")
    return where


# --- running one command ----------------------------------------------------------------


def _argv(command: str) -> tuple[list[str], list[str]]:
    """The command's words (after the reductions) and the filter after ``|``, if any."""
    for pattern, replacement in REDUCTIONS:
        command = re.sub(pattern, replacement, command)
    words = shlex.split(command, comments=True)
    if "|" in words:
        i = words.index("|")
        return words[:i], words[i + 1 :]
    return words, []


def _filter(text: str, words: list[str]) -> str:
    """``head -N`` / ``tail -N`` applied to the output."""
    if not words:
        return text
    assert words[0] in ("head", "tail") and len(words) == 2, f"unsupported filter {words}"
    n = int(words[1].lstrip("-"))
    lines = text.splitlines(keepends=True)
    return "".join(lines[:n] if words[0] == "head" else lines[-n:])


def _in_process(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # --help, argparse errors
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def _subprocess(argv: list[str], cwd: Path, interrupt: bool) -> tuple[int, str, str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=interrupt,
    )
    if interrupt:  # Ctrl-C once the first checkpoint is written
        words = argv[argv.index("--checkpoint") + 1]
        deadline = time.monotonic() + 60
        while not (cwd / words).exists() and proc.poll() is None:
            assert time.monotonic() < deadline, "no checkpoint to interrupt after"
            time.sleep(0.01)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def run_example(ex: Example, cwd: Path) -> tuple[int, str]:
    """Run one example in ``cwd``: its exit status and what it printed.

    A terminal shows stdout and then, here, stderr (gradfit's notes and errors come last); a
    ``| head``/``| tail`` filter applies to stdout only, as in a shell.
    """
    words, filt = _argv(ex.command)
    if words[0] == "head":  # `head -N FILE`
        text = (cwd / words[2]).read_text(encoding="utf-8")
        return 0, _filter(text, words[:2])
    if words[:3] == ["python", "-m", "gradfit"]:
        words = ["gradfit", *words[3:]]
    if words[0] == "torchrun":
        argv = [sys.executable, "-m", "torch.distributed.run", *words[1:]]
        code, out, err = _subprocess(argv, cwd, False)
    elif words[0] != "gradfit":
        raise AssertionError(f"{ex.where}: cannot run {ex.command!r}")
    elif ex.interrupt or "--workers" in words:
        argv = [sys.executable, "-m", "gradfit", *words[1:]]
        code, out, err = _subprocess(argv, cwd, ex.interrupt)
    else:
        old = Path.cwd()
        os.chdir(cwd)
        try:
            code, out, err = _in_process(words[1:])
        finally:
            os.chdir(old)
    return code, _filter(out, filt) + err


# --- comparing output -------------------------------------------------------------------


def _drop_timing_columns(lines: list[str]) -> list[str]:
    """Leave out the last column of a table whose header ends with ``us/step``."""
    out, in_table = [], False
    for line in lines:
        if line.rstrip().endswith("us/step"):
            in_table = True
        elif not line.strip():
            in_table = False
        out.append(line.rstrip().rsplit(None, 1)[0] if in_table and line.strip() else line)
    return out


def _clean(lines: list[str]) -> list[str]:
    lines = [s.rstrip() for s in _drop_timing_columns(lines) if s.strip() != "^C"]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def matches(expected: list[str], actual: str) -> bool:
    """Whether ``actual`` is what ``expected`` shows, ``...`` marking what varies."""
    pattern = ""
    for line in _clean(expected):
        if line.strip() == "...":
            pattern += r"(?:[^\n]*\n)*?"
        else:
            pattern += ".*?".join(re.escape(part) for part in line.split("...")) + r"\n"
    text = "\n".join(_clean(actual.splitlines())) + "\n"
    return re.fullmatch(pattern, text) is not None


def problem(ex: Example, cwd: Path) -> str | None:
    """Run ``ex``: what is wrong with its exit status or its output, or None."""
    code, text = run_example(ex, cwd)
    if code != ex.exit_code:
        return f"{ex.where}: `{ex.command}` exited {code}, not {ex.exit_code}:\n{text}"
    if ex.expected is not None and not matches(ex.expected, text):
        diff = difflib.unified_diff(
            _clean(ex.expected), _clean(text.splitlines()), "documented", "printed", lineterm=""
        )
        return f"{ex.where}: `{ex.command}` printed something else:\n" + "\n".join(diff)
    return None


def check_all(examples: list[Example], cwd: Path) -> None:
    """Run every example in order; fail once, listing every example that is wrong."""
    problems = [p for ex in examples if (p := problem(ex, cwd)) is not None]
    assert not problems, "\n\n".join(problems)


# --- the tests --------------------------------------------------------------------------


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: p.name)
def test_doc_examples(path: Path, tmp_path: Path) -> None:
    """Every ``$ `` example of one Markdown file, in order, in one directory."""
    check_all(doc_examples(path), make_workspace(tmp_path))


@pytest.mark.parametrize("command", HELP_COMMANDS)
def test_help_examples(command: str, tmp_path: Path) -> None:
    """Every example line of ``gradfit COMMAND --help`` runs and exits 0."""
    cwd = make_workspace(tmp_path)
    main(["fit", "--data", str(cwd / "points.csv"), "--quiet", "--save", str(cwd / "model.json")])
    examples = help_examples(command)
    assert examples, f"gradfit {command} --help shows no examples"
    if importlib.util.find_spec("pyarrow") is None:  # the parquet extra is not installed
        examples = [ex for ex in examples if ".parquet" not in ex.command]
    problems = []
    for ex in examples:
        where = cwd
        if "torch.py" in ex.command.split():  # `gradfit doctor torch.py`: the article's trap
            where = cwd / "shadow"  # a torch.py of its own (it would hide torch from the rest)
            ex.exit_code = 1  # a script named torch.py imports itself: a FAIL, exit status 1
        problems.append(problem(ex, where))
    assert not any(problems), "\n\n".join(p for p in problems if p)


@pytest.mark.parametrize("path", [p for p in DOC_FILES if python_blocks(p)], ids=lambda p: p.name)
def test_python_examples(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ```python block runs, in order, from a directory holding the files it names.

    Reduced: ``steps=10**6`` runs 3000 steps (the README's checkpoint and resume lines).
    """
    pytest.importorskip("sklearn")  # the estimator's examples (the test extra installs it)
    monkeypatch.chdir(make_workspace(tmp_path))
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for where, source in python_blocks(path):
        code = compile(source.replace("10**6", "3000"), where, "exec")
        exec(code, namespace)  # the documentation's own example code


def test_the_runner_finds_the_examples() -> None:
    """The parser sees the README's examples, and the matcher can fail."""
    readme = doc_examples(REPO / "README.md")
    assert len(readme) >= 10
    assert any(ex.expected for ex in readme)
    assert matches(["a", "...", "c ... d"], "a\nb\nb\nc 1 2 d\n")
    assert not matches(["a", "c"], "a\nb\nc\n")
    assert matches(["run  us/step", "x    1.0"], "run  us/step\nx    2.0\n")
    assert len(help_examples("fit")) >= 20
