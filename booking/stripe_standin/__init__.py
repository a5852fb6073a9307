"""A loopback stand-in for the parts of Stripe's API that booking uses.

Start it with :func:`serve_in_thread` (tests, ``booking serve`` without a Stripe key) or
``python -m booking.stripe_standin``. Point the real ``stripe`` library at ``handle.url``.
"""

from .app import ServerHandle, create_app, serve_app_in_thread, serve_in_thread
from .delivery import sign
from .faults import Fault
from .paying import PayResult
from .state import StandIn

__all__ = [
    "Fault",
    "PayResult",
    "ServerHandle",
    "StandIn",
    "create_app",
    "serve_app_in_thread",
    "serve_in_thread",
    "sign",
]
