"""`python -m onehub` is the `onehub` command."""

from onehub.cli.main import main

raise SystemExit(main())
