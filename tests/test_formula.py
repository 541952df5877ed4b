"""Formula models: the symbolic derivatives against torch's autograd and finite differences for
every function a formula may call, the printer against the parser, and bad formulas."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import cli, run_cli

import gradfit
from gradfit.errors import UsageError
from gradfit.formula import FUNCTIONS, Program, parse_formula, parse_tree, to_text
from gradfit.formula.functions import STEPS
from gradfit.models import FormulaModel, make_model

torch = pytest.importorskip("torch")

# Where each function's argument stays inside its domain (and away from kinks and jumps).
POSITIVE = {"log", "log2", "log10", "sqrt", "acosh"}
ONE_ARG = sorted({api for api, arity in FUNCTIONS.values() if arity == 1})
TWO_ARG = sorted({api for api, arity in FUNCTIONS.values() if arity == 2})
X = np.linspace(-0.9, 0.9, 37) + 0.013  # no exact zero: abs and sign have a kink there


def _case(api: str) -> tuple[str, np.ndarray]:
    """A formula using ``api`` with three parameters, and a start inside its domain."""
    if api in TWO_ARG:
        return f"{api}(a*x + 2.5, b*x + c)", np.array([0.7, 0.4, 1.3])
    shift = 1.6 if api in POSITIVE else 0.05
    return f"a*{api}(b*x + c)", np.array([1.3, 0.45, shift])


def _autograd(formula: str, w: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """torch's gradient of sum((f - y)^2) with y = 0.3 x, and torch's Jacobian."""
    model = FormulaModel.from_text(formula)
    be = gradfit.backends.resolve_backend("torch", "cpu", "float64")
    xt = torch.tensor(x, dtype=torch.float64)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    cache = model.prepare(xt, be)
    loss = ((model.forward(wt, cache) - 0.3 * xt) ** 2).sum()
    loss.backward()

    def f(v: torch.Tensor) -> torch.Tensor:
        return model.forward(v, model.prepare(xt, be))

    jac = torch.autograd.functional.jacobian(f, torch.tensor(w, dtype=torch.float64))
    return wt.grad.numpy(), jac.numpy()


def _symbolic(formula: str, w: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """gradfit's hand-derived (symbolic) gradient of the same loss on NumPy, and its Jacobian."""
    model = FormulaModel.from_text(formula)
    be = gradfit.backends.resolve_backend("numpy", "cpu", "float64")
    cache = model.prepare(x, be)
    residual = model.forward(w, cache) - 0.3 * x
    grad = np.asarray(model.grad(w, cache, 2.0 * residual))
    return grad, np.asarray(model.jacobian(w, cache))


def _finite_differences(formula: str, w: np.ndarray, x: np.ndarray) -> np.ndarray:
    model = FormulaModel.from_text(formula)
    cols = []
    for k in range(w.size):
        h = 1e-6 * max(1.0, abs(w[k]))
        up, down = w.copy(), w.copy()
        up[k] += h
        down[k] -= h
        cols.append((model.predict(up, x) - model.predict(down, x)) / (2 * h))
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("api", ONE_ARG + TWO_ARG)
def test_symbolic_gradient_equals_autograd_and_finite_differences(api: str) -> None:
    formula, w = _case(api)
    grad, jac = _symbolic(formula, w, X)
    torch_grad, torch_jac = _autograd(formula, w, X)
    np.testing.assert_allclose(grad, torch_grad, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(jac, torch_jac, rtol=1e-11, atol=1e-12)
    if api not in STEPS:  # finite differences across a jump say nothing
        np.testing.assert_allclose(jac, _finite_differences(formula, w, X), rtol=1e-6, atol=1e-7)
    else:
        assert not np.any(jac[:, 1:])  # a step's derivative is zero wherever it exists


@pytest.mark.parametrize(
    "formula, w",
    [
        ("b1*(1 - exp(-b2*x))", [2.0, 0.7]),  # Misra1a's shape
        ("a*x**b", [1.5, 2.7]),
        ("a*b**x + c", [0.5, 1.8, -0.2]),
        ("b1/(1 + exp(b2 - b3*x))", [3.0, 0.2, 1.4]),  # logistic
        ("(a + b*x)/(1 + c*x + d*x**2)", [1.0, 0.5, 0.3, 0.2]),  # rational
        ("a*exp(-((x - m)/s)**2/2)", [2.0, 0.1, 0.4]),  # a peak
        ("-a**2*x + sin(a)*cos(b)", [0.4, 1.1]),
        ("sqrt(a)*x**2 - b/x", [2.0, 0.3]),
    ],
)
def test_composite_formulas(formula: str, w: list[float]) -> None:
    x = np.linspace(0.2, 2.0, 25)
    wv = np.array(w)
    grad, jac = _symbolic(formula, wv, x)
    torch_grad, torch_jac = _autograd(formula, wv, x)
    np.testing.assert_allclose(grad, torch_grad, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(jac, torch_jac, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(jac, _finite_differences(formula, wv, x), rtol=1e-6, atol=1e-7)


def test_derivatives_read_like_hand_derived_ones() -> None:
    f = parse_formula("b1*(1 - exp(-b2*x))")
    assert f.derivative_text() == ["d/db1 = 1 - exp(-b2*x)", "d/db2 = b1*exp(-b2*x)*x"]
    article = parse_formula("a + b*x + c*x**2 + d*x**3")
    assert [to_text(d) for d in article.derivatives] == ["1", "x", "x**2", "x**3"]


@pytest.mark.parametrize(
    "formula",
    ["a*x**2 - (b - c)/x", "-(a*b)/x + 2**(-a*x)", "a/(-b*x)", "(a - b)**-c*x", "a - -b*x"],
)
def test_printed_formulas_parse_back_to_the_same_values(formula: str) -> None:
    f = parse_formula(formula)
    x, w = np.linspace(0.3, 2.0, 11), np.array([1.9, 0.7, 0.4][: len(f.params)])
    for tree in (f.tree, *f.derivatives):
        text = to_text(tree)
        _, again, _ = parse_tree(text, parameters=True)
        np.testing.assert_allclose(
            _value(again, f.params, x, w), _value(tree, f.params, x, w), rtol=1e-15, err_msg=text
        )


def _value(tree: object, names: tuple[str, ...], x: np.ndarray, w: np.ndarray) -> np.ndarray:
    out = Program((tree,), names).registers(np, x, w)[-1]
    return np.broadcast_to(out, x.shape)


def test_shared_parts_are_computed_once() -> None:
    f = parse_formula("b1*(1 - exp(-b2*x))")
    exps = [code for code in f.program.code if code[0] == "op" and code[1][0] == "exp"]
    assert len(exps) == 1  # the forward pass and both derivatives use one exp(-b2*x)


@pytest.mark.parametrize(
    "text, words",
    [
        ("x**2 + 1", "has no parameters to fit"),
        ("exp*x", "exp is a function"),
        ("a*foo(x)", "unknown function 'foo'"),
        ("a(x)", "a parameter cannot be called"),
        ("__import__('os')", "unknown function '__import__'"),
        ("a.b*x", "attribute access"),
        ("_a*x", "cannot be a parameter name"),
        ("a*x if a else x", "if/else is not allowed"),
        ("a*x[0]", "indexing"),
    ],
)
def test_bad_formulas_are_one_line(text: str, words: str) -> None:
    with pytest.raises(UsageError, match="--model") as info:
        parse_formula(text)
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_plain_names_are_not_formulas() -> None:
    with pytest.raises(UsageError, match=r"unknown model 'polly'.*or write a formula"):
        make_model("polly")


def test_library_fit_reaches_the_generating_parameters_on_both_backends() -> None:
    x = np.linspace(0, 3, 200)
    y = 2 * np.exp(-1.3 * x) + 0.5
    model = "a*exp(-b*x) + c"
    fits = [
        gradfit.fit(
            x, y, model=model, init={"a": 1, "b": 1}, backend=be, dtype="float64", steps=3000
        )
        for be in ("numpy", "torch")
    ]
    for r in fits:
        np.testing.assert_allclose(r.params, [2.0, 1.3, 0.5], rtol=1e-9)
        assert r.lr_auto is not None  # a formula's rate comes from the curvature at the start
    np.testing.assert_allclose(fits[0].predict(x), y, atol=1e-9)
    assert fits[0].formula().startswith("y = a*exp(-b*x) + c with a = 1.99999")


def test_init_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    model = "a*exp(-b*x) + c"
    args = ["--model", model, "--init", "b=0.5, a = 2", "--steps", "1", "--quiet"]
    code, out, _ = cli(capsys, "fit", "--backend", "numpy", *args, "--json", "-")
    assert code == 0
    doc = json.loads(out[out.index("{") :])
    assert doc["init_params"] == [2.0, 0.5, 1.0]  # c was not named: it starts at 1


@pytest.mark.parametrize(
    "args, words",
    [
        (["--init", "a=1,q=2"], "--init names 'q', which is not a parameter"),
        (["--init", "a=1,a=2"], "a is given twice"),
        (["--init", "a=1,2"], "expected name=value pairs"),
        (["--scale"], "a formula is fitted in x itself"),
    ],
)
def test_bad_formula_options_are_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    proc = run_cli(capsys, "fit", "--backend", "numpy", "--model", "a*exp(-b*x) + c", *args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert words in lines[-1]
    assert "Traceback" not in proc.stderr


def test_non_finite_start_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """log(x - 1) at x in [0, 1] is nan at every point from the start."""
    args = ["--model", "a*log(x - b)", "--range", "0", "1"]
    proc = run_cli(capsys, "fit", "--backend", "numpy", *args)
    assert proc.returncode in (1, 2)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gradfit: error:"), proc.stderr


def test_saved_formula_models_predict_what_the_fit_did(tmp_path) -> None:
    x = np.linspace(0, 3, 50)
    r = gradfit.fit(x, 2 * np.exp(-1.3 * x) + 0.5, model="a*exp(-b*x) + c", steps=3000)
    path = tmp_path / "m.json"
    r.save(path)
    m = gradfit.load(path)
    new = np.linspace(-1, 4, 7)
    np.testing.assert_array_equal(m.predict(new), r.predict(new))
    assert m.formula() == r.formula()
    assert m.degree is None
    errors = m.document["param_errors"]  # the fit's standard errors travel with the model
    assert list(errors) == ["a", "b", "c"]
    np.testing.assert_allclose(list(errors.values()), r.statistics.standard_errors, rtol=1e-12)


@pytest.mark.parametrize(
    "change, words",
    [
        ({"param_names": ["a", "q", "c"]}, "are not the parameters of the expression"),
        ({"expression": "__import__('os').system('ls')"}, "attribute access"),
        ({"expression": "a*exp(-b*x)"}, "are not the parameters"),
        ({"coef": [1.0, 2.0]}, '"coef" has 2 values for 3 parameters'),
        ({"param_names": "abc"}, '"param_names"'),
    ],
)
def test_damaged_formula_model_files_are_one_line(tmp_path, change: dict, words: str) -> None:
    import json

    x = np.linspace(0, 3, 50)
    r = gradfit.fit(x, 2 * np.exp(-1.3 * x) + 0.5, model="a*exp(-b*x) + c", steps=10)
    path = tmp_path / "m.json"
    r.save(path)
    doc = json.loads(path.read_text())
    doc.update(change)
    path.write_text(json.dumps(doc))
    with pytest.raises(UsageError) as info:
        gradfit.load(path)
    assert words in str(info.value) and "\n" not in str(info.value)
