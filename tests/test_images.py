"""Image and GenerationResult: bytes, format, save, save_all, to_pil; the lean decode path."""

from __future__ import annotations

import io
import json
import os
import tracemalloc
from pathlib import Path

import httpx
import pytest
from _wrapper_helpers import BASE, generation_body

from nebula_images import Client, GenerationResult, Image
from nebula_images._encoding import image_size, sniff_format


def picture(fmt: str, size: tuple[int, int] = (40, 24)) -> bytes:
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.new("RGB", size, "red").save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(("fmt", "name"), [("PNG", "png"), ("JPEG", "jpeg"), ("WEBP", "webp")])
def test_format_and_size_from_header(fmt: str, name: str) -> None:
    data = picture(fmt)
    assert sniff_format(data) == name
    assert image_size(data) == (40, 24)


def test_webp_lossless_and_extended_sizes() -> None:
    from PIL import Image as PILImage

    for kwargs in ({"lossless": True}, {"exif": b"Exif\x00\x00"}):
        buffer = io.BytesIO()
        PILImage.new("RGBA", (33, 17), "red").save(buffer, format="WEBP", **kwargs)
        assert image_size(buffer.getvalue()) == (33, 17)


def test_unknown_bytes_have_no_format() -> None:
    assert sniff_format(b"GIF89a") is None and image_size(b"nope") is None


def make_result(tmp_path: Path) -> GenerationResult:
    images = tuple(
        Image(data=picture(fmt), format=name, index=i, idempotency_key="key/1", request_id="r")
        for i, (fmt, name) in enumerate([("PNG", "png"), ("JPEG", "jpeg")])
    )
    return GenerationResult(
        images=images, model="m", request_id="r", idempotency_key="key/1", retries=0, parameters={}
    )


def test_save_to_file_and_directory(tmp_path: Path) -> None:
    image = make_result(tmp_path).images[0]
    target = image.save(tmp_path / "sub" / "out.png")
    assert target == tmp_path / "sub" / "out.png" and target.read_bytes() == image.data
    generated = image.save(tmp_path)
    assert generated.parent == tmp_path and generated.name == "nebula-key_1.png"
    assert generated.read_bytes() == image.data
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_save_all_writes_every_image(tmp_path: Path) -> None:
    result = make_result(tmp_path)
    paths = result.save_all(tmp_path / "all")
    # The one naming rule of the output module: stem.png, stem-1.jpg, ...
    assert [p.name for p in paths] == ["nebula-key_1.png", "nebula-key_1-1.jpg"]
    assert [p.read_bytes() for p in paths] == [img.data for img in result.images]


def test_to_pil_and_repr(tmp_path: Path) -> None:
    image = make_result(tmp_path).images[0]
    pil = image.to_pil()
    assert pil.size == (40, 24)
    assert repr(image) == f"Image(index=0, format='png', 40x24, seed=None, {len(image.data)} bytes)"
    assert result_first(make_result(tmp_path)) is not None


def test_repr_shows_seed_and_size_and_notebooks_get_a_png(tmp_path: Path) -> None:
    png = Image(data=picture("PNG"), format="png", index=0, seed=42)
    assert "seed=42" in repr(png) and "40x24" in repr(png)
    assert png._repr_png_() == png.data
    jpeg = Image(data=picture("JPEG"), format="jpeg", index=1, seed=7)
    shown = jpeg._repr_png_()
    assert shown is not None and sniff_format(shown) == "png" and image_size(shown) == (40, 24)
    assert Image(data=b"junk", format="jpeg", index=0)._repr_png_() is None


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_saved_files_follow_the_umask(tmp_path: Path, umask: int) -> None:
    result = make_result(tmp_path)
    old = os.umask(umask)
    try:
        paths = [result.images[0].save(tmp_path / "one.png"), *result.save_all(tmp_path / "all")]
    finally:
        os.umask(old)
    assert {p.stat().st_mode & 0o777 for p in paths} == {0o666 & ~umask}


def result_first(result: GenerationResult) -> Image:
    return result.image


def test_to_pil_without_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "PIL", None)
    image = Image(data=b"\x89PNG\r\n\x1a\n", format="png", index=0)
    with pytest.raises(ImportError, match=r"nebula-images\[pil\]"):
        image.to_pil()


def test_generate_and_save_peak_memory_is_lean(tmp_path: Path) -> None:
    """Peak extra memory of generate + save stays under 2.5x the image size."""
    size = 6 * 1024 * 1024
    payload = b"\x89PNG\r\n\x1a\n" + os.urandom(size - 8)
    body = json.dumps(generation_body(payload, model="black-forest-labs/FLUX.1-schnell")).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

    with Client(
        api_key="ak_mem",
        base_url=BASE,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    ) as client:
        client.images.generate("warm up")
        tracemalloc.start()
        try:
            result = client.images.generate("x")
            result.images[0].save(tmp_path / "big.png")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert (tmp_path / "big.png").read_bytes() == payload
    ratio = peak / size
    print(f"peak {peak / 2**20:.1f} MiB for a {size / 2**20:.0f} MiB image: {ratio:.2f}x")
    assert ratio <= 2.5


@pytest.mark.parametrize(
    "declared",
    [lambda n: n, lambda n: n - 7, lambda n: n + 100, lambda n: None],
    ids=["exact", "understated", "overstated", "absent"],
)
def test_body_read_whatever_the_content_length(declared: object) -> None:
    """The body buffer (preallocated from Content-Length) keeps exactly the bytes sent."""
    payload = picture("PNG")
    body = json.dumps(generation_body(payload)).encode()
    length = declared(len(body))  # type: ignore[operator]

    def handler(request: httpx.Request) -> httpx.Response:
        headers = [] if length is None else [(b"Content-Length", str(length).encode())]
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(body))

    http = httpx.Client(transport=httpx.MockTransport(handler))
    with Client(api_key="ak_len", base_url=BASE, http_client=http) as client:
        result = client.images.generate("x")
    assert result.images[0].data == payload and result.images[0].size == (40, 24)
