"""Rendered PNGs kept per API process, and conditional GETs on them.

A plot's key is everything its picture depends on: the experiments' newest history rows
(epoch and when it was written, which a resumed or retried epoch changes) and the plot's
parameters. The ETag is a hash of that key, so a client can revalidate without the server
drawing anything. It is a weak ETag: the same key gives the same picture, but not
necessarily the same bytes from another process with other fonts or another matplotlib
(If-None-Match compares weakly, so 304s work all the same)."""

import hashlib
from collections.abc import Callable, Hashable

from fastapi import Response
from matplotlib import __version__ as matplotlib_version

from api.core.lru import ByteLRU

# Per user (the routes need an API key), and to be revalidated on every use: the image
# changes whenever an epoch lands.
CACHE_CONTROL = "private, no-cache"
# Part of every ETag: change it when the same data is drawn differently, so clients fetch
# the new picture.
DRAWING = "1"

PlotCache = ByteLRU[bytes]


def etag(key: Hashable) -> str:
    digest = hashlib.sha256(repr((DRAWING, matplotlib_version, key)).encode()).hexdigest()
    return f'W/"{digest[:32]}"'


def etag_matches(if_none_match: str | None, tag: str) -> bool:
    """RFC 9110's weak comparison against a list of tags or `*`."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = tag.removeprefix("W/")
    return any(t.strip().removeprefix("W/") == opaque for t in if_none_match.split(","))


def not_modified(tag: str) -> Response:
    return Response(status_code=304, headers={"ETag": tag, "Cache-Control": CACHE_CONTROL})


def cached_png(
    cache: PlotCache, key: Hashable, if_none_match: str | None, render: Callable[[], bytes]
) -> Response:
    """The PNG for `key`, drawn by `render` (which raises the route's 4xx) only when it is
    not cached; 304 when the client already holds it."""
    tag = etag(key)
    png = cache.get(key)
    if png is None:
        png = render()
        cache.put(key, png, len(png))
    if etag_matches(if_none_match, tag):
        return not_modified(tag)
    headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL}
    return Response(content=png, media_type="image/png", headers=headers)
