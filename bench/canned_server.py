"""A loopback HTTP server answering every POST with one canned image of a given size.

usage: canned_server.py IMAGE_SIZE   (prints its port, then serves until killed)
Used by the memory benchmark, so that the server's allocations are not in the client's
process.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SIZE = int(sys.argv[1])
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(SIZE - 8)
BODY = json.dumps(
    {
        "model": "black-forest-labs/FLUX.1-schnell",
        "object": "list",
        "data": [
            {"timings": {"inference": 0.0}, "index": 0, "b64_json": base64.b64encode(PNG).decode()}
        ],
        "message": "Image generated successfully",
        "status": "success",
    }
).encode()


class CannedHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.send_header("X-Request-ID", "bench")
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args: object) -> None:  # quiet
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), CannedHandler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
