"""Understanding a fit: the exact analysis of least squares (optimum, curvature, learning-rate
rules, predicted paths: :mod:`.analysis`), ``gradfit explain`` (:mod:`.explain`),
``gradfit compare`` (:mod:`.compare`), plots (:mod:`.plot`) and the text and Markdown a run
prints (:mod:`.report`).

Nothing is imported here: :mod:`.analysis` sits low in the house (the planner uses it), the
others at the top, beside the command line.
"""
