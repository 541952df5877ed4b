"""Write the example notebooks of this folder, with no outputs, from the cells below.

    python examples/make_notebooks.py          # rewrite examples/*.ipynb

The notebooks are generated so that they stay short, reviewable as Python, and free of stored
outputs; ``tests/test_notebooks.py`` runs each one in a real Jupyter kernel and checks that the
files are what this script writes. Edit the cells here, not the .ipynb files.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

ARTICLE = [
    "# The article, step by step, with gradfit\n\n"
    "The article this project grew from installs PyTorch, checks that it works, and fits\n"
    "`y = a + b x + c x^2 + d x^3` to `sin(x)` on [-pi, pi] with a hand-written gradient-descent\n"
    "loop, once with NumPy and once with PyTorch. Here is that loop, then the same run with\n"
    "gradfit, number for number.",
    "## 1. Does PyTorch work?\n\nThe article's install check: a random 5 x 3 tensor.",
    "import importlib.util\n\n"
    'if importlib.util.find_spec("torch") is not None:\n'
    "    import torch\n\n"
    "    print(torch.rand(5, 3))\n"
    "else:\n"
    '    print("PyTorch is not installed: the NumPy parts below still run")',
    "## 2. The article's loop, in NumPy\n\n"
    "2000 points, learning rate 1e-6, 2000 steps, the loss printed every 100 steps. The article\n"
    "starts from random numbers; we fix the start so that gradfit can start from the same place.",
    "import math\n\n"
    "import numpy as np\n\n"
    "START = [0.3, -0.7, 0.1, 0.05]  # a, b, c, d\n"
    "x = np.linspace(-math.pi, math.pi, 2000)\n"
    "y = np.sin(x)\n"
    "a, b, c, d = START\n"
    "learning_rate = 1e-6\n"
    "article = []\n"
    "for t in range(2000):\n"
    "    y_pred = a + b * x + c * x**2 + d * x**3\n"
    "    loss = np.square(y_pred - y).sum()\n"
    "    if t % 100 == 99:\n"
    "        article.append((t, float(loss)))\n"
    "        print(t, loss)\n"
    "    grad_y_pred = 2.0 * (y_pred - y)\n"
    "    a -= learning_rate * grad_y_pred.sum()\n"
    "    b -= learning_rate * (grad_y_pred * x).sum()\n"
    "    c -= learning_rate * (grad_y_pred * x**2).sum()\n"
    "    d -= learning_rate * (grad_y_pred * x**3).sum()\n"
    'print(f"Result: y = {a} + {b} x + {c} x^2 + {d} x^3")',
    "## 3. The same run with gradfit\n\n"
    "`gradfit.fit` runs the same loop (the hand-derived gradient, plain gradient descent) and\n"
    "logs the same steps. The losses are the article's, exactly. `progress=True` shows the\n"
    "loss live while it runs (a fit that takes more than two seconds shows it unasked).",
    "import gradfit\n\n"
    "result = gradfit.fit(x, y, init=START, lr=1e-6, steps=2000, progress=True)\n"
    "assert result.loss_history == article  # every logged loss, bit for bit\n"
    "print(result.loss_history[:3])\n"
    'print("Result:", result.formula())',
    "## 4. And with PyTorch\n\n"
    "A float32 tensor stays a float32 tensor: gradfit runs on torch, on the tensor's device,\n"
    "and again matches the article's PyTorch loop number for number.",
    'if importlib.util.find_spec("torch") is not None:\n'
    "    xt = torch.linspace(-math.pi, math.pi, 2000)\n"
    "    yt = torch.sin(xt)\n"
    "    a, b, c, d = (torch.tensor(v) for v in START)\n"
    "    article_torch = []\n"
    "    for t in range(2000):\n"
    "        y_pred = a + b * xt + c * xt**2 + d * xt**3\n"
    "        loss = (y_pred - yt).pow(2).sum().item()\n"
    "        if t % 100 == 99:\n"
    "            article_torch.append((t, loss))\n"
    "        grad_y_pred = 2.0 * (y_pred - yt)\n"
    "        a -= learning_rate * grad_y_pred.sum()\n"
    "        b -= learning_rate * (grad_y_pred * xt).sum()\n"
    "        c -= learning_rate * (grad_y_pred * xt**2).sum()\n"
    "        d -= learning_rate * (grad_y_pred * xt**3).sum()\n"
    "    torch_result = gradfit.fit(xt, yt, init=START, lr=1e-6, steps=2000)\n"
    "    assert torch_result.loss_history == article_torch\n"
    "    print(torch_result.method, torch_result.device, torch_result.dtype)\n"
    '    print("Result:", torch_result.formula())',
    "## 5. Where gradient descent is heading: the closed form\n\n"
    "For least squares the best cubic can be computed directly (no steps at all). The run's\n"
    "loss after 2000 steps is 8% above it: gradient descent has not arrived yet.",
    "optimum = gradfit.closed_form(x, y, 3)\n"
    'print("optimum loss", optimum.loss, "run", result.final_loss)\n'
    'print("optimum coefficients", optimum.coef)\n'
    "assert optimum.loss < result.final_loss < 1.1 * optimum.loss  # 8% above, not there yet",
    "## 6. The result shows itself\n\n"
    "The last value of a cell is displayed: the Result line, the logged losses, the standard\n"
    "errors and the figure (when matplotlib is installed).",
    "result",
]

OWN_DATA = [
    "# Your own data\n\n"
    "Write a small CSV file, read it back with `gradfit.load_data`, fit a cubic, and predict.\n"
    'With `scale=True` gradfit maps x to [-1, 1] before fitting and `lr="auto"` picks the\n'
    "learning rate from the loss's curvature, so data far from [-pi, pi] needs no tuning.",
    "import tempfile\n"
    "from pathlib import Path\n\n"
    "import numpy as np\n\n"
    "import gradfit\n\n"
    "rng = np.random.default_rng(0)\n"
    "x = np.linspace(0.0, 10.0, 200)\n"
    "y = 0.5 - 1.2 * x + 0.3 * x**2 - 0.02 * x**3 + rng.normal(0.0, 0.2, x.size)\n"
    'path = Path(tempfile.mkdtemp()) / "points.csv"\n'
    'np.savetxt(path, np.column_stack([x, y]), delimiter=",", header="x,y", comments="")\n'
    "print(path.read_text().splitlines()[:3])",
    'data = gradfit.load_data(path, x="x", y="y")\n'
    'result = gradfit.fit(data.x, data.y, degree=3, scale=True, lr="auto", steps=500, seed=0)\n'
    "assert abs(result.final_loss - result.optimum.loss) < 1e-6 * result.optimum.loss\n"
    "result",
    "The fitted curve at new x, and the standard errors of the coefficients by name:",
    "print(result.predict([2.5, 7.5]))\nprint(result.statistics.errors())",
]

COMPARE = [
    "# Compare: every way to compute it, from one start\n\n"
    "The article's point: NumPy and PyTorch are two ways to compute the same thing. `compare`\n"
    "runs several methods, backends and optimizers from the same initial parameters and\n"
    "tabulates how close each comes to the closed-form optimum.",
    "import importlib.util\n\n"
    "import gradfit\n"
    "from gradfit.understand.compare import compare, format_table\n\n"
    'have_torch = importlib.util.find_spec("torch") is not None\n'
    'methods = ["manual", "gram"] + (["autograd"] if have_torch else [])\n'
    'backends = ["numpy"] + (["torch"] if have_torch else [])\n'
    "config = gradfit.FitConfig(seed=1, steps=2000)\n"
    'table = compare(config, methods, backends, ["sgd", "momentum"])\n'
    "print(format_table(table))",
    "Runs that differ only in how the gradient is computed land on the same coefficients\n"
    "(to float64 precision); momentum gets much closer to the optimum in the same steps.",
    "import numpy as np\n\n"
    'sgd = [row for row in table.rows if row.error is None and row.optimizer == "sgd"]\n'
    "spread = max(np.abs(np.subtract(r.coef, sgd[0].coef)).max() for r in sgd)\n"
    'print(f"{len(sgd)} sgd runs agree to {spread:.1e}")\n'
    "assert spread < 1e-9",
]

EXPLAIN = [
    "# Explain: what gradient descent does here, before running it\n\n"
    "For least squares everything about a run can be computed in advance: the curvature of\n"
    "the loss (the Hessian's eigenvalues), the largest stable learning rate, the loss after\n"
    "any number of steps. `gradfit explain --plain` prints that, then each term in one line.",
    'from gradfit.cli import main\n\nassert main(["explain", "--seed", "1", "--plain"]) == 0',
    "The same numbers as a Python object: the stable learning rate, and the predicted loss.",
    "import numpy as np\n\n"
    "import gradfit\n"
    "from gradfit.understand.explain import explain\n\n"
    'config = gradfit.FitConfig(seed=1, backend="numpy", dtype="float64")\n'
    "ex = explain(config)\n"
    "stable = ex.spectrum.stable_lr\n"
    'print(f"largest stable lr {stable:.4g}, predicted loss {ex.final_predicted:.8g}")',
    "Check it: the run at the article's rate ends at the predicted loss; just below the stable\n"
    "rate it converges; just above it, it diverges.",
    "x = np.linspace(-np.pi, np.pi, 2000)\n"
    "run = gradfit.run(config)\n"
    'print("predicted", ex.final_predicted, "ran", run.final_loss)\n'
    "assert abs(run.final_loss - ex.final_predicted) < 1e-6 * run.final_loss\n"
    "near = gradfit.fit(x, np.sin(x), init=run.init_coef, lr=0.9 * stable, steps=2000)\n"
    'print("0.9 x stable:", near.final_loss)\n'
    "try:\n"
    "    gradfit.fit(x, np.sin(x), init=run.init_coef, lr=1.1 * stable, steps=2000)\n"
    "except gradfit.FitFailedError as err:\n"
    '    print("1.1 x stable:", err)',
]

NOTEBOOKS = {
    "01_article.ipynb": ARTICLE,
    "02_own_data.ipynb": OWN_DATA,
    "03_compare.ipynb": COMPARE,
    "04_explain.ipynb": EXPLAIN,
}


def build(cells: list[str]) -> nbformat.NotebookNode:
    """A notebook of ``cells``: text starting with ``#`` or a capital letter is Markdown, the
    rest (which starts with a lower-case Python word) is code."""
    nb = new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        }
    )
    for i, text in enumerate(cells):
        markdown = text[:1] == "#" or text[:1].isupper()
        cell = new_markdown_cell(text) if markdown else new_code_cell(text)
        cell["id"] = f"cell-{i}"  # stable ids: the files change only when the cells do
        nb.cells.append(cell)
    return nb


def text(name: str) -> str:
    """The file ``name`` as this script writes it."""
    return nbformat.writes(build(NOTEBOOKS[name])) + "\n"


def main() -> int:
    for name in NOTEBOOKS:
        (HERE / name).write_text(text(name), encoding="utf-8")
        print(f"wrote examples/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
