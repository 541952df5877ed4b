"""The benchmark suite's blocks in README.md and docs/*.md, and the Markdown it builds.

No timing here: the documents under tests/data/suite/ were recorded by a real run of
``benchmarks/suite.py`` (few repeats); these tests check that every block in the docs is closed,
names a section the suite knows and carries a stamp line, that each section's builder turns its
recorded JSON into the expected table, and that ``--update-docs`` rewrites a block and nothing
else.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "suite"
sys.path.insert(0, str(REPO / "benchmarks"))

import sections  # noqa: E402
import suite  # noqa: E402

DOC_FILES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
STAMP = re.compile(r"^_Measured on commit `[0-9a-f]{7,}( \+ uncommitted changes)?`, .*reproduce: `")


def doc(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def table_rows(markdown: str, first_cell: str) -> list[list[str]]:
    """The cells of every Markdown table row whose first cell starts with ``first_cell``."""
    rows = []
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells[0].startswith(first_cell):
                rows.append(cells)
    return rows


# --- the blocks in the docs ---------------------------------------------------------------------


def test_every_block_is_closed_known_and_stamped() -> None:
    found = {}
    for path in DOC_FILES:
        text = path.read_text(encoding="utf-8")
        names = suite.check_blocks(text, str(path))  # raises on an open or unknown block
        for m in suite.BLOCK.finditer(text):
            first = m.group(2).lstrip("\n").splitlines()[0] if m.group(2).strip() else ""
            assert STAMP.match(first), f"{path.name}: block {m.group(1)} has no stamp: {first!r}"
            assert "\n$ " not in m.group(2), f"{path.name}: block {m.group(1)} has a $ line"
        found[path.name] = names
    assert "summary" in found["README.md"]
    assert set(found["performance.md"]) >= {"summary", "article", "jumps", "scale", "startup"}
    assert "nist" in found["models.md"] and "distributed" in found["distributed.md"]


def test_check_blocks_refuses_open_and_unknown_blocks() -> None:
    with pytest.raises(ValueError, match="not closed"):
        suite.check_blocks("a\n<!-- suite:jumps -->\nb\n", "x")
    with pytest.raises(ValueError, match="unknown suite section 'nope'"):
        suite.check_blocks("<!-- suite:nope -->\nb\n<!-- /suite:nope -->\n", "x")


# --- the builders, on recorded documents --------------------------------------------------------


def test_article_table() -> None:
    md = sections.render("article", doc("article"))
    loops = table_rows(md, "loop only")
    assert [r[0] for r in loops] == ["loop only, NumPy float64", "loop only, PyTorch float32 CPU"]
    assert all(r[3].endswith("x") and r[4] == "0.0e+00" for r in loops)
    assert len(table_rows(md, "whole process")) == 2


def test_methods_tables() -> None:
    md = sections.render("methods", doc("methods"))
    runs = {r[0] for r in table_rows(md, "")}
    assert {"article loop (seed_numpy.py)", "gradfit manual/numpy", "tutorial nn program"} <= runs
    assert table_rows(md, "gradfit autograd / tutorial autograd")
    total = table_rows(md, "total per step")[0]
    assert len(total) == 9  # the stage, then 2 programs x 2 implementations x 2 sizes


def test_startup_jumps_many_tables() -> None:
    md = sections.render("startup", doc("startup"))
    assert [r[0] for r in table_rows(md, "`gradfit")][-2:] == [
        "`gradfit --help`",
        "`gradfit fit --help`",
    ]
    md = sections.render("jumps", doc("jumps"))
    assert [r[0] for r in table_rows(md, "gradfit gram")] == [
        "gradfit gram, stepping",
        "gradfit gram, jumps",
        "gradfit gram, jumps, 10^9 steps",
    ]
    md = sections.render("many", doc("many"))
    assert table_rows(md, "K curves / one curve (auto)")
    assert "numpy.polyfit loop" in {r[0] for r in table_rows(md, "numpy")}


def test_formula_and_nist_tables() -> None:
    pytest.importorskip("scipy")
    pytest.importorskip("sympy")
    md = sections.render("formula", doc("formula"))
    assert len(table_rows(md, "Misra1a")) == 4  # per step (2 sizes) and the lm fits (2 starts)
    assert doc("formula")["machine"] not in md  # the stamp line says it
    md = sections.render("nist", doc("nist"))
    rows = table_rows(md, "")
    assert rows[0][:3] == ["problem", "start", "lm b"]
    assert len(rows) == 2 + len(doc("nist")["rows"])  # header, rule, one per problem and start
    assert md.count("\n- ") == len(doc("nist")["summaries"])


def test_scale_tables() -> None:
    md = sections.render("scale", doc("scale"))
    assert [r[0] for r in table_rows(md, "10^")][:4] == ["10^4", "10^5", "10^6", "10^7"]
    assert table_rows(md, "gradfit gram")  # the article's problem
    assert table_rows(md, "N=1e7: manual / gram")


def test_distributed_and_formula_summary() -> None:
    md = sections.render("distributed", doc("distributed"))
    assert len(table_rows(md, "manual, ")) == len(doc("distributed")["fits"])
    assert len(table_rows(md, "gram statistics pass")) == 2
    md = sections.render("formula-summary", {"nist": doc("nist"), "formula": doc("formula")})
    assert md.count("- ") == 3 and "rows within 2x" in md


def test_summary_has_every_target() -> None:
    docs = {n: doc(n) for n in sections.SECTIONS if (DATA / f"{n}.json").is_file()}
    md = sections.render("summary", docs)
    rows = {r[0]: r for r in table_rows(md, "")}
    for what in (
        "gradfit NumPy whole process",
        "`gradfit --help`",
        "`gradfit fit --help`",
        "gram with exact jumps",
        "gram, `--steps 10**9`",
        "1000 curves of 2000 points / one curve",
        "formula per step",
        "lm whole fit",
        "the LM stepper alone",
        "gradfit loop / the article's loop, numpy",
        "gradfit loop / the article's loop, torch",
        "N = 10^7: manual / gram",
    ):
        match = [r for k, r in rows.items() if k.startswith(what)]
        assert match, what
        assert match[0][2] != "not measured" and match[0][3] in ("met", "**not met**"), match
    # a section not measured says so instead of failing
    md = sections.render("summary", {})
    assert md.count("not measured") >= 10


# --- --update-docs ------------------------------------------------------------------------------


def test_update_docs_replaces_one_block_and_nothing_else(tmp_path: Path) -> None:
    source = (REPO / "docs" / "performance.md").read_text(encoding="utf-8")
    path = tmp_path / "performance.md"
    path.write_bytes(source.encode("utf-8"))
    new = "_Measured on commit `abcdef1`, x; reproduce: `y`._\n\n| a |\n| --- |\n| 1 |\n"
    assert suite.update_docs({"jumps": new}, [path]) == [path]
    text = path.read_text(encoding="utf-8")
    start = "<!-- suite:jumps -->\n"
    end = "<!-- /suite:jumps -->"
    i, j = source.index(start) + len(start), source.index(end)
    assert text == source[:i] + new + source[j:]
    assert not list(tmp_path.glob(".*tmp"))  # written via a temp file, renamed
    assert suite.update_docs({"jumps": new}, [path]) == []  # the same again changes nothing


def test_render_only_updates_the_docs_from_recorded_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for name in ("jumps", "many"):
        (out / f"{name}.json").write_text((DATA / f"{name}.json").read_text())
        meta = {"commit": "abcdef1", "date": "2026-12-01", "command": f"x --only {name}"}
        meta["machine"] = dict(cpu="cpu", cpus=2, python="3", numpy="2", torch="2", gpu="no GPU")
        (out / f"{name}.meta.json").write_text(json.dumps(meta))
    page = tmp_path / "page.md"
    before = "# t\n\n<!-- suite:jumps -->\nold\n<!-- /suite:jumps -->\n\ntext <!-- x -->\n"
    before += "<!-- suite:nist -->\nkept\n<!-- /suite:nist -->\n"
    page.write_text(before)
    monkeypatch.setattr(suite, "DOCS", [page])
    argv = ["--only", "jumps,many", "--render-only", "--update-docs", "--out", str(out)]
    assert suite.main(argv) == 0
    after = page.read_text()
    assert "old" not in after and "kept" in after  # nist was not run: left as it was
    assert after.startswith("# t\n\n<!-- suite:jumps -->\n_Measured on commit `abcdef1`")
    tail = "\n<!-- /suite:jumps -->\n\ntext <!-- x -->\n<!-- suite:nist -->\nkept\n"
    assert after.endswith(tail + "<!-- /suite:nist -->\n")
    assert (out / "jumps.md").read_text().splitlines()[0].startswith("_Measured")
