"""Placeholder demo until the local mock lands: writes the spec's example PNG.

It says so when it runs; the real demo generates through the local mock server.
"""

from __future__ import annotations

import base64
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

spec = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
ok = spec["paths"]["/images/generation"]["post"]["responses"]["200"]
example = ok["content"]["application/json"]["examples"]["flux_schnell"]["value"]
out = ROOT / "demo-output" / "spec-example.png"
out.parent.mkdir(exist_ok=True)
out.write_bytes(base64.b64decode(example["data"][0]["b64_json"], validate=True))
print(f"wrote {out} (the spec's example image; the mock-backed demo is not landed yet)")
