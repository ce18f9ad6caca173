"""The composition root: the one place that wires every layer together.

- `start_onehub(settings)` starts the whole system in the running event loop and returns a
  `RunningOneHub` (bound ports, `stop()`); tests use it with port 0 everywhere.
- `serve(settings)` is `onehub serve`: it runs until SIGINT or SIGTERM, then drains and exits 0.
"""

from onehub.app.serve import serve
from onehub.app.wiring import RunningOneHub, start_onehub

__all__ = ["RunningOneHub", "serve", "start_onehub"]
