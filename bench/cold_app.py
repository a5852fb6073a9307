"""booking as it runs, except that each process keeps no rendered page: every request is a
cache miss (the content version is still read), as the first one after an organiser's edit.
Serve it with `python bench/serve.py --app booking-cold`."""

from __future__ import annotations

from starlette.applications import Starlette

from booking.asgi import make_app as make_booking
from booking.web.pagecache import PageCache


def make_app() -> Starlette:
    app = make_booking()
    app.state.services.extras["page_cache"] = PageCache(max_entries=0)
    return app
