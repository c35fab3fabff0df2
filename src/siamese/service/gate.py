"""ASGI middleware: the API key and its rate, checked from the headers before the body is read.

FastAPI reads a multipart form before it runs a route's dependencies, so a key checked there
is checked after up to `max_request_bytes` and a thousand parts have been taken in. Here every
POST and DELETE (the routes that take a key; the GET routes take none) is answered 401 without
a valid `Authorization: Bearer KEY`, or 429 with `Retry-After` over its rate, from the headers
alone; a request let through carries its key in `request.state.key` (and its name, for the
access log, in `key_name`). A key table that cannot be read (its database down) is a 503.
"""

from __future__ import annotations

import anyio.to_thread
from starlette.routing import Match

from siamese.errors import GalleryUnavailableError
from siamese.service.keys import KeyStore
from siamese.service.limits import answer
from siamese.service.rate import RateLimit

OPEN = {"GET", "HEAD", "OPTIONS"}


class KeyGate:
    """Wraps the application. Args: keys: the `KeyStore`; rate: a `RateLimit`, or None; routes: the
    application's routes, to name the one a refused request asked for (in the access log and metrics);
    hidden: what an error's text becomes before a client reads it (the server's own names taken out)."""

    def __init__(self, app, keys: KeyStore, rate: RateLimit | None = None, routes=(), hidden=str):
        self.app, self.keys, self.rate, self.routes, self.hidden = app, keys, rate, routes, hidden

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in OPEN:
            return await self.app(scope, receive, send)
        route = next((route for route in self.routes if route.matches(scope)[0] == Match.FULL), None)
        if route is not None:
            scope["route"] = route
        scheme, _, token = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1").partition(" ")
        try:
            key = await self._check(token.strip()) if scheme.lower() == "bearer" else None
        except GalleryUnavailableError as error:
            return await answer(send, 503, self.hidden(str(error)))
        if key is None:
            return await answer(
                send,
                401,
                "a valid API key is needed: Authorization: Bearer KEY",
                ((b"www-authenticate", b"Bearer"),),
            )
        state = scope.setdefault("state", {})
        state["key"], state["key_name"] = key, key.name  # the key's name, never the key, in the access log
        wait = None if self.rate is None else self.rate.retry_after(key.name)
        if wait is not None:
            message = f"key {key.name!r} is over its rate of {self.rate.rate}; retry in {wait} s"
            return await answer(send, 429, message, ((b"retry-after", str(wait).encode()),))
        await self.app(scope, receive, send)

    async def _check(self, token: str):
        """The key `token` is: read at once from a local file, from a thread where it takes a round trip
        to a database (the event loop never waits on a network)."""
        if self.keys.local:
            return self.keys.check(token)
        return await anyio.to_thread.run_sync(self.keys.check, token)
