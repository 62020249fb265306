"""`python -m dockbolt` is the `dockbolt` console script."""

from dockbolt.cli.main import main

raise SystemExit(main())
