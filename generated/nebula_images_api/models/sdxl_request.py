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

T = TypeVar("T", bound="SDXLRequest")


@_attrs_define
class SDXLRequest:
    """Stable Diffusion XL base 1.0, text-to-image (the vendor's example sends 25 steps,
    guidance 9, 1024x1024).
    Decided: `model_name` is required as well as `prompt`, and the schema is closed
    (a parameter the model does not take is refused with 422; the vendor's table
    says which parameters each model takes, not what happens to others).

        Attributes:
            model_name (Literal['stabilityai/stable-diffusion-xl-base-1.0']): The model to run; this schema applies to SDXL
                base 1.0.
            prompt (str): What to draw. Decided: 1 to 4,000 characters, at least one of them not white
                space (the vendor states no limit; this keeps bodies bounded, and a blank prompt
                is a mistake that would still be billed).
            negative_prompt (None | str | Unset): What to keep out of the image. SDXL only. `null` is the same as leaving it
                out
                (the reference page's example sends `null`). Decided: at most 4,000 characters,
                like `prompt` (the vendor states no limit).
            num_steps (int | Unset): Inference steps: more is better quality, slower and dearer. Decided: 1 to 100
                (the vendor states no bounds; its examples use 4, 25 and 40). When left out the
                server uses the model's default.
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

    model_name: Literal["stabilityai/stable-diffusion-xl-base-1.0"]
    prompt: str
    negative_prompt: None | str | Unset = UNSET
    num_steps: int | Unset = UNSET
    guidance_scale: float | Unset = UNSET
    width: int | Unset = UNSET
    height: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        model_name = self.model_name

        prompt = self.prompt

        negative_prompt: None | str | Unset
        if isinstance(self.negative_prompt, Unset):
            negative_prompt = UNSET
        else:
            negative_prompt = self.negative_prompt

        num_steps = self.num_steps

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
        if negative_prompt is not UNSET:
            field_dict["negative_prompt"] = negative_prompt
        if num_steps is not UNSET:
            field_dict["num_steps"] = num_steps
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
        model_name = cast(
            Literal["stabilityai/stable-diffusion-xl-base-1.0"], d.pop("model_name")
        )
        if model_name != "stabilityai/stable-diffusion-xl-base-1.0":
            raise ValueError(
                f"model_name must match const 'stabilityai/stable-diffusion-xl-base-1.0', got '{model_name}'"
            )

        prompt = d.pop("prompt")

        def _parse_negative_prompt(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        negative_prompt = _parse_negative_prompt(d.pop("negative_prompt", UNSET))

        num_steps = d.pop("num_steps", UNSET)

        guidance_scale = d.pop("guidance_scale", UNSET)

        width = d.pop("width", UNSET)

        height = d.pop("height", UNSET)

        sdxl_request = cls(
            model_name=model_name,
            prompt=prompt,
            negative_prompt=negative_prompt,
            num_steps=num_steps,
            guidance_scale=guidance_scale,
            width=width,
            height=height,
        )

        return sdxl_request
