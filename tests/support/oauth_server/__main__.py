"""``python -m tests.support.oauth_server --port 10980``: serve the test AS."""

from __future__ import annotations

import argparse

from werkzeug.serving import make_server

from tests.support.oauth_server.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=10980)
    parser.add_argument("--redirect-uri", action="append", default=[])
    args = parser.parse_args()
    app = create_app(redirect_uris=args.redirect_uri)
    # One request at a time: the state is one in-memory SQLite connection.
    make_server(args.host, args.port, app, threaded=False).serve_forever()


if __name__ == "__main__":
    main()
