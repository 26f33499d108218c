"""`make mock-dist-check`: the mock distribution installed alone serves a generation.

Run with the Python of a venv that holds only `pip install ./mock`: starts its console
script `nebula-images-mock` on a free loopback port, sends the spec's FLUX.1 schnell
example request (seed 42) and checks the answer is a PNG of the size asked with that
seed, and that the client package is not installed. Standard library only.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("nebula-images-mock")
BODY = {
    "model_name": "black-forest-labs/FLUX.1-schnell",
    "prompt": "a red fox in fresh snow, photograph",
    "num_steps": 4,
    "guidance_scale": 3.5,
    "width": 256,
    "height": 128,
    "seed": 42,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> int:
    assert importlib.util.find_spec("nebula_images") is None, "the client is installed too"
    assert importlib.util.find_spec("nebula_images_mock") is not None, "the mock is missing"
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 (our own console script)
        [str(SCRIPT), "--port", str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        assert f"http://127.0.0.1:{port}/api/v1" in first, first
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/images/generation",
            data=json.dumps(BODY).encode(),
            headers={
                "Authorization": "Bearer ak_mock_0123456789",
                "Content-Type": "application/json",
            },
        )
        started = time.monotonic()
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            status, body = answer.status, json.load(answer)
        image = body["data"][0]
        png = base64.b64decode(image["b64_json"], validate=True)
        assert status == 200 and png.startswith(b"\x89PNG\r\n\x1a\n"), status
        size = (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big"))
        assert size == (BODY["width"], BODY["height"]), size
        assert image["seed"] == 42, image["seed"]
        took = time.monotonic() - started
        print(f"mock-dist-check: {SCRIPT.name} served a {size[0]}x{size[1]} PNG in {took:.2f} s")
        print("mock-dist-check: 1 passed, 0 failed")
        return 0
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
