"""Prometheus metrics of the service, at `/metrics` (`prometheus_client`, the `service` extra).

    siamese_requests_total{route, method, status}    answers given
    siamese_request_duration_seconds{route}          how long they took (histogram)
    siamese_errors_total{route}                      answers of 500 or more: the server's faults
    siamese_gallery_identities                       identities in the gallery, as last counted

`route` is the route's template (`/identities/{name}`), never a person's name, and
"unmatched" for a path no route has. Under several worker processes (`siamese serve
--workers N`) each worker writes its numbers to files in `$PROMETHEUS_MULTIPROC_DIR` and
`/metrics` adds up every worker's, whichever worker answers.
"""

from __future__ import annotations

import os

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def available() -> bool:
    """Whether `prometheus_client` is installed (`pip install siamese[service]`)."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        return False
    return True


class Metrics:
    """The service's counters; one per application (so several apps in one process keep their own)."""

    def __init__(self):
        import prometheus_client as prometheus

        self._prometheus = prometheus
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        # In multi-process mode the values live in files, not in a registry: the metrics are
        # registered nowhere and `/metrics` collects the files.
        self.registry = None if self.multiprocess else prometheus.CollectorRegistry()
        self.requests = prometheus.Counter(
            "siamese_requests", "Answers given", ["route", "method", "status"], registry=self.registry
        )
        self.latency = prometheus.Histogram(
            "siamese_request_duration_seconds", "Time to answer", ["route"], buckets=BUCKETS, registry=self.registry
        )
        self.errors = prometheus.Counter(
            "siamese_errors", "Answers of status 500 or more", ["route"], registry=self.registry
        )
        self.identities = prometheus.Gauge(
            "siamese_gallery_identities",
            "Identities in the gallery, as last counted",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)
        if status >= 500:
            self.errors.labels(route).inc()

    def exposition(self) -> tuple[bytes, str]:
        """(body, content type) of the text format, every worker's numbers added up."""
        registry = self.registry
        if registry is None:
            from prometheus_client import multiprocess

            registry = self._prometheus.CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        return self._prometheus.generate_latest(registry), self._prometheus.CONTENT_TYPE_LATEST
