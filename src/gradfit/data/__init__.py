"""Data: where the x and y a model is fitted to come from, validated once, at the edge.

- one reader per file format, each exposing the file's rows as blocks (:mod:`.text` for
  CSV/TSV/text, :mod:`.npy` for .npy and .npz, :mod:`.parquet`), chosen by :mod:`.formats`;
  one header sniffer (:mod:`.sniff`), one column chooser (:mod:`.table`) and one error
  vocabulary (:mod:`.errors`) for all of them;
- :func:`load_data`: a reader's blocks concatenated and checked (:mod:`.load`);
  :func:`open_file`: the same blocks streamed, or one rank's part of them (:mod:`.stream`);
- generated targets, whole or in chunks (:mod:`.generated`); the :class:`Problem` record and
  the checks of user arrays (:mod:`.problem`); domain scaling to [-1, 1] (:mod:`.scaling`).

Heavy imports stay lazy: pyarrow only when a Parquet file is read, torch never (a torch array
is made by the backend object passed in).
"""

from __future__ import annotations

from .formats import SUPPORTED, can_stream, open_table
from .generated import (
    TARGETS,
    add_noise,
    formula_problem,
    generated,
    linspace_chunk,
    make_problem,
)
from .load import Data, check_fittable, load_column, load_data
from .problem import Problem, as_problem, check_generated, check_points, check_range
from .scaling import WINDOW, Domain, as_float64, evaluate, host_float64
from .stream import Chunk, ChunkedProblem, open_file
from .table import Column, Table, choose_xy

__all__ = [
    "SUPPORTED",
    "TARGETS",
    "WINDOW",
    "Chunk",
    "ChunkedProblem",
    "Column",
    "Data",
    "Domain",
    "Problem",
    "Table",
    "add_noise",
    "as_float64",
    "as_problem",
    "can_stream",
    "check_fittable",
    "check_generated",
    "check_points",
    "check_range",
    "choose_xy",
    "evaluate",
    "formula_problem",
    "generated",
    "host_float64",
    "linspace_chunk",
    "load_column",
    "load_data",
    "make_problem",
    "open_file",
    "open_table",
]
