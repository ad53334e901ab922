"""Prometheus text exposition of the server's counters, written by hand (no extra dependency).

Everything is updated from the event loop thread, so plain integers need no lock. Request
paths are reduced to the known endpoints (anything else is ``other``) so that a scan of random
URLs cannot grow the label set without bound.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence

__all__ = ["Histogram", "ServeMetrics", "MetricsMiddleware", "ENDPOINTS"]

#: label values for ``path``; other paths are counted as ``other``
ENDPOINTS = ("/v1/predict", "/v1/metadata", "/health", "/metrics", "/docs", "/openapi.json")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class Histogram:
    """A cumulative histogram with fixed upper bounds, as Prometheus expects."""

    def __init__(self, buckets: Sequence[float]):
        self.bounds = tuple(buckets)
        self.counts = [0] * len(self.bounds)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[i] += 1
                break
        self.total += value
        self.count += 1

    def lines(self, name: str, labels: str = "") -> Iterable[str]:
        running = 0
        sep = "," if labels else ""
        for bound, n in zip(self.bounds, self.counts, strict=True):
            running += n
            yield f'{name}_bucket{{{labels}{sep}le="{_number(bound)}"}} {running}'
        yield f'{name}_bucket{{{labels}{sep}le="+Inf"}} {self.count}'
        suffix = f"{{{labels}}}" if labels else ""
        yield f"{name}_sum{suffix} {_number(self.total)}"
        yield f"{name}_count{suffix} {self.count}"


class ServeMetrics:
    """Counters of one server process, rendered by :meth:`render`."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency: dict[str, Histogram] = {}
        self.batch_rows = Histogram(BATCH_BUCKETS)
        self.batch_requests = Histogram(BATCH_BUCKETS)
        self.rejected: dict[str, int] = defaultdict(int)
        self.in_flight = 0
        self.queue_rows = 0
        self.started = time.time()

    def observe_request(self, method: str, path: str, status: int, seconds: float) -> None:
        """Count one finished request (status 0 when no response was sent)."""
        path = path if path in ENDPOINTS else "other"
        self.requests[(method if method in ("GET", "POST") else "other", path, status)] += 1
        if path not in self.latency:
            self.latency[path] = Histogram(LATENCY_BUCKETS)
        self.latency[path].observe(seconds)

    def observe_batch(self, rows: int, requests: int) -> None:
        """Count one call of the runtime that served ``requests`` requests with ``rows`` rows."""
        self.batch_rows.observe(rows)
        self.batch_requests.observe(requests)

    def render(self) -> str:
        """The Prometheus text format (version 0.0.4)."""
        out = ["# HELP honed_requests_total HTTP requests by method, path and status.",
               "# TYPE honed_requests_total counter"]
        for (method, path, status), n in sorted(self.requests.items()):
            out.append(f'honed_requests_total{{method="{method}",path="{path}",'
                       f'status="{status}"}} {n}')
        errors = defaultdict(int)
        for (_, _, status), n in self.requests.items():
            if status >= 400:  # status 0 (client gone before an answer) is not an error
                errors["5xx" if status >= 500 else "4xx"] += n
        out += ["# HELP honed_errors_total Requests answered with an error status.",
                "# TYPE honed_errors_total counter"]
        for kind in ("4xx", "5xx"):
            out.append(f'honed_errors_total{{class="{kind}"}} {errors[kind]}')
        out += ["# HELP honed_rejected_total Predictions refused by the batcher.",
                "# TYPE honed_rejected_total counter"]
        for reason in ("queue_full", "timeout"):
            out.append(f'honed_rejected_total{{reason="{reason}"}} {self.rejected[reason]}')
        out += ["# HELP honed_request_seconds Request latency in seconds.",
                "# TYPE honed_request_seconds histogram"]
        for path, hist in sorted(self.latency.items()):
            out += hist.lines("honed_request_seconds", f'path="{path}"')
        out += ["# HELP honed_batch_rows Rows per runtime call.",
                "# TYPE honed_batch_rows histogram", *self.batch_rows.lines("honed_batch_rows"),
                "# HELP honed_batch_requests Requests per runtime call.",
                "# TYPE honed_batch_requests histogram",
                *self.batch_requests.lines("honed_batch_requests"),
                "# HELP honed_in_flight Requests being served now.",
                "# TYPE honed_in_flight gauge", f"honed_in_flight {self.in_flight}",
                "# HELP honed_queue_rows Rows waiting for the runtime.",
                "# TYPE honed_queue_rows gauge", f"honed_queue_rows {self.queue_rows}",
                "# HELP honed_uptime_seconds Seconds since the server started.",
                "# TYPE honed_uptime_seconds gauge",
                f"honed_uptime_seconds {_number(time.time() - self.started)}"]
        return "\n".join(out) + "\n"


class MetricsMiddleware:
    """Pure ASGI middleware that times every HTTP request and counts its status."""

    def __init__(self, app, metrics: ServeMetrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0

        async def send_status(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        self.metrics.in_flight += 1
        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.in_flight -= 1
            self.metrics.observe_request(scope.get("method", ""), scope.get("path", ""), status,
                                         time.perf_counter() - start)


def _number(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value)) + ".0"
