"""One generate-and-save in a fresh process; prints the tracemalloc peak in bytes.

usage: memory_child.py ours|naive BASE_URL IMAGE_SIZE
"""

from __future__ import annotations

import base64
import json
import sys
import tempfile
import tracemalloc
from pathlib import Path

MODEL = "black-forest-labs/FLUX.1-schnell"


def ours(url: str, out: Path) -> None:
    from nebula_images import Client

    client = Client(api_key="ak_bench_0000000000", base_url=url, max_retries=0)
    client.images.generate("warm up", model=MODEL, width=64, height=64)
    tracemalloc.start()
    client.images.generate("x", model=MODEL, width=64, height=64).images[0].save(out)


def naive(url: str, out: Path) -> None:
    import httpx

    http = httpx.Client(timeout=60)
    body = {"model_name": MODEL, "prompt": "x"}
    http.post(url + "/images/generation", json=body).read()  # warm up
    tracemalloc.start()
    response = http.post(url + "/images/generation", json=body)
    data = base64.b64decode(json.loads(response.content)["data"][0]["b64_json"])
    out.write_bytes(data)


if __name__ == "__main__":
    mode, url, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    out = Path(tempfile.mkdtemp()) / "out.png"
    {"ours": ours, "naive": naive}[mode](url, out)
    peak = tracemalloc.get_traced_memory()[1]
    if out.stat().st_size != size:
        sys.exit(f"wrote {out.stat().st_size} bytes, expected {size}")
    print(peak)
