"""Installing the switchable providers after the API handed out proxy meters and tracers must
not deadlock (the API calls back into our providers while we install them)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_install_after_proxies_were_handed_out() -> None:
    # A fresh interpreter: the API's global state is set only once per process.
    script = textwrap.dedent(
        """
        from opentelemetry import metrics, trace
        meter = metrics.get_meter("early")        # a proxy meter, before any provider is set
        tracer = trace.get_tracer("early")
        counter = meter.create_counter("early.count")
        from onehub.telemetry.testing import in_memory_telemetry
        memory = in_memory_telemetry()
        counter.add(2)
        with tracer.start_as_current_span("early-span"):
            pass
        assert "early.count" in memory.metrics(), memory.metrics()
        assert [s.name for s in memory.spans()] == ["early-span"]
        memory.shutdown()
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
