"""The exercises' sources: each file is the reference solution, its answer between
``# SOLUTION: <task>`` and ``# END`` lines; the learner's template is the same file with each
such block replaced by ``raise NotImplementedError("TODO <task>")`` (see
:func:`gradfit.learn.template`)."""
