"""`python -m onehub_collector`: the collector as a process of its own."""

import sys

from onehub_collector.cli import main

sys.exit(main())
