"""`python -m benchmarks.collector`; see `benchmarks.collector.run`."""

from benchmarks.collector.run import main

raise SystemExit(main())
