"""``python -m gradfit``: the same as the ``gradfit`` command."""

from .cli import main

raise SystemExit(main())
