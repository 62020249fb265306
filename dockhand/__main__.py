"""`python -m dockhand` is the `dockhand` console script."""

from dockhand.cli import main

raise SystemExit(main())
