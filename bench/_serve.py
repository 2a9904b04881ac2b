"""Serve an ASGI application exactly as ``twostep serve`` serves twostep.

``twostep serve`` checks its configuration, then calls
``uvicorn.run(**server_options(host, port, workers))`` (``twostep.cli``). This script makes
the same call with, when ``--app`` is given, only the application swapped: the bare ping
application of ``http_api.py`` thus gets the event loop, HTTP implementation, proxy-header
handling, logging and worker processes twostep gets, and follows any change to
``server_options``. Without ``--app`` it serves twostep itself, through the same call.

    python bench/_serve.py --port 8123 --workers 2 [--app ping_app:create_app]

A source tree from before ``server_options`` existed is served through ``twostep serve``.
"""

from __future__ import annotations

import argparse
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", help="import string of an application factory (default: twostep)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    try:
        from twostep.cli import server_options
    except ImportError:
        if args.app is not None:
            raise SystemExit("this twostep has no twostep.cli.server_options to copy") from None
        from twostep.cli import app

        app(["serve", "--host", args.host, "--port", str(args.port), "--workers",
             str(args.workers)])  # fmt: skip
        return 0
    import uvicorn

    options = server_options(args.host, args.port, args.workers)
    if args.app is not None:
        options["app"] = args.app
    uvicorn.run(**options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
