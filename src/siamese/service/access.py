"""ASGI middleware: one access-log line and the metrics of every answer, and the worker that gave it.

A line reads `POST /identify 200 12.3 ms key=reader` on the logger `siamese.service.access`
(INFO): the route's template (never a person's name from the path), the status, the time
to answer and the key's NAME, never the key itself, never an upload's bytes. Every answer
carries `Siamese-Worker: PID`, the process that gave it (several under `--workers`).
"""

from __future__ import annotations

import logging
import os
import time

logger = logging.getLogger("siamese.service.access")
WORKER_HEADER = b"siamese-worker"


def route_of(scope) -> str:
    """The matched route's template, or "unmatched" (a path no route has: not a label to keep)."""
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


class AccessLog:
    """Wraps the application; `metrics` (a `siamese.service.metrics.Metrics`) may be None."""

    def __init__(self, app, metrics=None):
        self.app, self.metrics = app, metrics
        self.worker = str(os.getpid()).encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, status = time.perf_counter(), [500]

        async def noted_send(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message = {**message, "headers": [*message.get("headers", []), (WORKER_HEADER, self.worker)]}
            await send(message)

        try:
            await self.app(scope, receive, noted_send)
        finally:
            seconds = time.perf_counter() - start
            route = route_of(scope)
            key = (scope.get("state") or {}).get("key_name", "-")
            logger.info("%s %s %d %.1f ms key=%s", scope["method"], route, status[0], seconds * 1e3, key)
            if self.metrics is not None:
                self.metrics.observe(route, scope["method"], status[0], seconds)
