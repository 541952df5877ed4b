"""The glossary: one definition per term in code, the same words in docs/glossary.md, and
``gradfit explain --plain`` defining exactly the terms the explanation used."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gradfit.cli import main
from gradfit.understand.glossary import GLOSSARY, TERMS, plain_words, render_plain

DOC = Path(__file__).resolve().parents[1] / "docs" / "glossary.md"

# The words the brief of `explain` promises a definition for (the Result of issue 14, part 4).
REQUIRED = (
    "gradient",
    "learning rate",
    "Hessian",
    "eigenvalue",
    "condition number",
    "momentum",
    "closed form",
    "least squares",
    "stable rate",
    "stiffest direction",
    "flattest direction",
    "Jacobian",
    "residual",
    "standard error",
)


def _one_line_section() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8").split("## In one line", 1)[1]
    return dict(re.findall(r"^- \*\*(.+?)\*\*: (.+)$", text, flags=re.MULTILINE))


def test_every_code_definition_is_in_the_docs_word_for_word() -> None:
    assert _one_line_section() == GLOSSARY  # both ways: nothing missing, nothing extra


def test_the_terms_explain_needs_are_defined_on_one_line() -> None:
    assert set(REQUIRED) <= set(GLOSSARY)
    assert len(GLOSSARY) == len(TERMS)  # no term twice
    for term, definition in GLOSSARY.items():
        assert definition and "\n" not in definition and len(definition) < 90, term
        assert re.fullmatch(r"[^:]+", term), term  # "term: definition" stays unambiguous


def test_plain_words_finds_terms_in_order_of_first_use() -> None:
    text = "Curvature: the Hessian's eigenvalues; the condition number; your lr"
    terms = [t for t, _ in plain_words(text)]
    assert terms == ["curvature", "Hessian", "eigenvalue", "condition number", "learning rate"]
    assert plain_words("nothing here to define") == []
    assert "momentum" not in dict(plain_words("plain sgd"))


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["explain", "--seed", "1", *args]) == 0
    return capsys.readouterr().out


def test_explain_plain_defines_the_terms_it_used(capsys: pytest.CaptureFixture[str]) -> None:
    plain = _run(capsys, "--plain")
    without = _run(capsys)
    explanation, words = plain.split("In plain words:\n")
    assert explanation == without  # the explanation itself is unchanged
    lines = words.splitlines()
    used = plain_words(without)
    assert lines == [f"  {t}: {d}" for t, d in used]
    defined = {t for t, _ in used}
    # Words this explanation prints, defined; words it does not print, not.
    assert {"Hessian", "eigenvalue", "condition number", "stable rate", "momentum"} <= defined
    assert {"Jacobian", "Levenberg-Marquardt", "not identifiable"}.isdisjoint(defined)
    assert render_plain(without) == "In plain words:\n" + words.rstrip("\n")


def test_explain_plain_for_a_formula_defines_its_own_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = str(DOC.parent / "misra1a.csv")
    model = ("--data", data, "--model", "b1*(1-exp(-b2*x))", "--init", "b1=500,b2=1e-4")
    out = _run(capsys, "--plain", *model)
    words = dict(
        line.strip().split(": ", 1) for line in out.split("In plain words:\n")[1].splitlines()
    )
    assert {"Jacobian", "chain rule", "stiffest direction", "flattest direction"} <= set(words)
    assert words["Jacobian"] == GLOSSARY["Jacobian"]
    out = _run(capsys, "--plain", "--json", "-", *model)
    doc = json.loads(out)
    assert doc["plain_words"]["chain rule"] == GLOSSARY["chain rule"]


def test_learn_check_plain_defines_the_words_of_its_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A learner's grad_c off by 1/2: the hint, then the glossary's line for each term in it."""
    folder = tmp_path / "ex"
    assert main(["learn", "start", str(folder)]) == 0
    path = folder / "ex03_gradients.py"
    text = path.read_text()
    body = re.search(r"\n    raise NotImplementedError\(.*\)\n", text)
    assert body is not None
    wrong = (
        "\n    y_pred = a + b * x + c * x**2 + d * x**3\n    g = 2 * (y_pred - y)\n"
        "    return g.sum(), (g * x).sum(), (g * x * x).sum() / 2, (g * x**3).sum()\n"
    )
    path.write_text(text[: body.start()] + wrong + text[body.end() :])
    capsys.readouterr()
    assert main(["learn", "check", str(folder), "3"]) == 1
    plain_off = capsys.readouterr().out
    assert main(["learn", "check", str(folder), "3", "--plain"]) == 1
    out = capsys.readouterr().out
    assert "factor of 1/2" in out and "In plain words:" not in plain_off
    assert f"residual: {GLOSSARY['residual']}" in out
    hint = plain_off.split("FAIL", 1)[1]
    assert [t for t, _ in plain_words(hint)] == [
        line.strip().split(":")[0]
        for line in out.split("In plain words:", 1)[1].splitlines()
        if line.startswith("         ")
    ]
