"""One uvicorn worker process on a SO_REUSEPORT socket.

Start several on the same port and the kernel spreads new connections evenly across them,
which stock `uvicorn --workers N` (one shared listening socket) does not guarantee for
long-lived keep-alive connections. Settings come from the environment, as for
`booking.asgi:make_app`.

    python bench/serve.py --app booking --port 8000   # twice, for two workers
"""

from __future__ import annotations

import argparse
import socket

import uvicorn
from common import APP_TARGETS, HOST, require_loopback


def reuseport_socket(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets that say so.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", choices=sorted(APP_TARGETS), default="booking")
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--access-log", action="store_true", help="log every request")
    args = parser.parse_args()
    require_loopback(args.host)
    sock = reuseport_socket(args.host, args.port)
    config = uvicorn.Config(
        APP_TARGETS[args.app],
        factory=True,
        log_level=args.log_level,
        access_log=args.access_log,
        ws="none",
        lifespan="on",
    )
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
