"""`make demo`: generate a real PNG through the local mock server, end to end.

Starts the spec-driven mock on a free 127.0.0.1 port, points a `Client` at it, generates
one image per text-to-image model and an inpainting, and saves them to demo-output/.
"""

from __future__ import annotations

from pathlib import Path

from nebula_images import Client
from nebula_images.testing import MockServer

OUT = Path(__file__).resolve().parent.parent / "demo-output"


def main() -> None:
    with MockServer() as mock, Client(api_key=mock.api_key, base_url=mock.base_url) as client:
        print(f"mock API serving at {mock.base_url}")
        result = client.images.generate(
            "a lighthouse on a cliff at dawn",
            model="black-forest-labs/FLUX.1-schnell",
            width=512,
            height=512,
            seed=7,
        )
        image = result.images[0]
        path = image.save(OUT / "lighthouse.png")
        print(
            f"{result.model}: {image.format} {len(image.data):,} bytes, seed {image.seed},"
            f" request {result.request_id} -> {path}"
        )
        inpainted = client.images.generate(
            "a small wooden boat",
            model="black-forest-labs/FLUX.1-Fill-dev",
            image=path,
            mask=_square_mask(512, 512),
            width=512,
            height=512,
        )
        print(f"{inpainted.model}: -> {inpainted.images[0].save(OUT / 'boat-inpainted.png')}")
        print(f"billed generations on the mock's ledger: {mock.ledger.billed}")


def _square_mask(width: int, height: int) -> bytes:
    """A black PNG with a white square in the middle: the part to repaint."""
    import io

    from PIL import Image, ImageDraw

    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).rectangle((width // 4, height // 4, 3 * width // 4, 3 * height // 4), 255)
    buf = io.BytesIO()
    mask.save(buf, "PNG")
    return buf.getvalue()


if __name__ == "__main__":
    main()
