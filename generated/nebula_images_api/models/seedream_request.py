from __future__ import annotations

from collections.abc import Mapping
from typing import (
    Any,
    Literal,
    Self,
    TypeVar,
    cast,
)

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="SeedreamRequest")


@_attrs_define
class SeedreamRequest:
    """Seedream 3.0, text-to-image at a native 2K. The vendor names it only by the alias
    `Bytedance-Seedream-3.0` and publishes no other id, so that alias is the
    `model_name`. It takes no `num_steps`. Decided: the alias is sent as `model_name`;
    `model_name` is required as well as `prompt`, and the schema is closed (a
    parameter the model does not take is refused with 422; the vendor's table says
    which parameters each model takes, not what happens to others).

        Attributes:
            model_name (Literal['Bytedance-Seedream-3.0']): The model to run; this schema applies to Seedream 3.0. Decided:
                the vendor's
                alias, since it publishes no other id.
            prompt (str): What to draw. Decided: 1 to 4,000 characters, at least one of them not white
                space (the vendor states no limit; this keeps bodies bounded, and a blank prompt
                is a mistake that would still be billed).
            guidance_scale (float | Unset): How closely to follow the prompt. Decided: 0 to 30 (the vendor states no bounds;
                its examples use 3.5, 4.5 and 9).
            width (int | Unset): Output width or height in pixels. Decided: 64 to 2048 (2048 is Seedream's native
                2K; the vendor states no bounds) and a multiple of 8, the latent grid of these
                diffusion models. When left out the server uses the model's own default (the
                vendor's examples use 1024).
            height (int | Unset): Output width or height in pixels. Decided: 64 to 2048 (2048 is Seedream's native
                2K; the vendor states no bounds) and a multiple of 8, the latent grid of these
                diffusion models. When left out the server uses the model's own default (the
                vendor's examples use 1024).
    """

    model_name: Literal["Bytedance-Seedream-3.0"]
    prompt: str
    guidance_scale: float | Unset = UNSET
    width: int | Unset = UNSET
    height: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        model_name = self.model_name

        prompt = self.prompt

        guidance_scale = self.guidance_scale

        width = self.width

        height = self.height

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "model_name": model_name,
                "prompt": prompt,
            }
        )
        if guidance_scale is not UNSET:
            field_dict["guidance_scale"] = guidance_scale
        if width is not UNSET:
            field_dict["width"] = width
        if height is not UNSET:
            field_dict["height"] = height

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        model_name = cast(Literal["Bytedance-Seedream-3.0"], d.pop("model_name"))
        if model_name != "Bytedance-Seedream-3.0":
            raise ValueError(
                f"model_name must match const 'Bytedance-Seedream-3.0', got '{model_name}'"
            )

        prompt = d.pop("prompt")

        guidance_scale = d.pop("guidance_scale", UNSET)

        width = d.pop("width", UNSET)

        height = d.pop("height", UNSET)

        seedream_request = cls(
            model_name=model_name,
            prompt=prompt,
            guidance_scale=guidance_scale,
            width=width,
            height=height,
        )

        return seedream_request
