"""``python -m booking.stripe_standin --port 12111 --webhook-url URL --webhook-secret whsec_...``"""

import argparse
import os
import sys
from pathlib import Path

import uvicorn
from dotenv import dotenv_values

from .app import create_app
from .state import DEFAULT_WEBHOOK_SECRET


def _environment() -> str:
    """ENVIRONMENT as booking reads it: the environment first, then `.env`."""
    if "ENVIRONMENT" in os.environ:
        return os.environ["ENVIRONMENT"].strip()
    if Path(".env").is_file():
        return (dotenv_values(".env").get("ENVIRONMENT") or "").strip()
    return ""


def main(argv: list[str] | None = None) -> None:
    if _environment() == "production":
        print(
            "booking.stripe_standin: refused with ENVIRONMENT=production "
            "(it takes test payments; no money moves)",
            file=sys.stderr,
        )
        raise SystemExit(2)
    parser = argparse.ArgumentParser(prog="python -m booking.stripe_standin")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--base-url", help="public address of this server (for session urls)")
    parser.add_argument("--webhook-url", default=os.environ.get("STRIPE_STANDIN_WEBHOOK_URL"))
    parser.add_argument(
        "--webhook-secret", default=os.environ.get("STRIPE_WEBHOOK_SECRET", DEFAULT_WEBHOOK_SECRET)
    )
    args = parser.parse_args(argv)
    base_url = args.base_url or f"http://{args.host}:{args.port}"
    app = create_app(
        webhook_url=args.webhook_url, webhook_secret=args.webhook_secret, base_url=base_url
    )
    print(f"Stripe stand-in on {base_url} (webhooks -> {args.webhook_url or 'none'})")
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", ws="none")


if __name__ == "__main__":
    main()
