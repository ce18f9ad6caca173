"""`python -m onehub.collector`: the collector as a process of its own."""

import sys

from onehub.collector.cli import main

sys.exit(main())
