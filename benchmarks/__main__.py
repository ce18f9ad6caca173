"""`python -m benchmarks` (what `make bench` runs); see `benchmarks.cli`."""

from benchmarks.cli import main

raise SystemExit(main())
