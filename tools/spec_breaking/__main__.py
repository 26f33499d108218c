"""`python -m spec_breaking`: see `cli.py`."""

from spec_breaking.cli import main

raise SystemExit(main())
