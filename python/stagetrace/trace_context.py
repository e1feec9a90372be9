"""The stage span's context for the OpenTelemetry Python SDK."""

from __future__ import annotations

import os

# Names for annotations only, which stay unevaluated (`from __future__ import annotations`):
# importing typing would cost every stage about 4 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict


def trace_context() -> Dict[str, str]:
    """A W3C carrier with the stage span's ``traceparent`` (and ``tracestate``,
    ``baggage``) from the environment exec gives the stage: pass it to
    ``opentelemetry.propagate.extract(carrier)`` (or a ``TraceContextTextMapPropagator``)
    and start spans with that context, and they are children of the stage span."""
    carrier: Dict[str, str] = {}
    for env, key in (("TRACEPARENT", "traceparent"), ("TRACESTATE", "tracestate"), ("BAGGAGE", "baggage")):
        value = os.environ.get(env, "").strip()
        if value:
            carrier[key] = value
    return carrier


def otel_context() -> Any:
    """The stage span's context as an ``opentelemetry.context.Context``; needs ``opentelemetry-api``."""
    from opentelemetry.propagate import extract  # imported here: the package itself needs no dependency

    return extract(trace_context())
