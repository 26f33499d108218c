from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="OtherModelRequest")


@_attrs_define
class OtherModelRequest:
    """Any model id not listed above (the platform adds models over time). The generic
    rules apply: every parameter is accepted with the shared bounds, and the server
    decides what the model uses. An id the server does not serve is answered with 404.
    Decided: this whole schema (the vendor's pages list four models and say nothing
    of other ids); `image` and `mask` come as a pair (an inpainting needs both).

        Attributes:
            model_name (str): The id of a model this spec has no schema for (see `GET /serverless/models`).
                Decided: 1 to 200 characters, not one of the ids above.
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
            seed (int | Unset): Random seed for reproducible images; `-1` (the vendor samples' value) or leaving
                it out means a random seed. Decided: -1 to 2^32-1 (the vendor states no range).
            image (str | Unset): The picture to inpaint: a JPEG, PNG or WebP file, base64-encoded (standard
                alphabet, padded, no `data:` prefix).
                Decided: 4 characters (one base64 quantum) to 24 MiB of base64, under the 32 MiB
                body limit (the vendor states no size limit).
            mask (str | Unset): The mask, the same size as `image`, base64-encoded like it: white pixels are
                repainted, black ones kept. Decided: the same size limits as `image` (the
                vendor states none) and that the mask must be the size of the image.
    """

    model_name: str
    prompt: str
    negative_prompt: None | str | Unset = UNSET
    num_steps: int | Unset = UNSET
    guidance_scale: float | Unset = UNSET
    width: int | Unset = UNSET
    height: int | Unset = UNSET
    seed: int | Unset = UNSET
    image: str | Unset = UNSET
    mask: str | Unset = UNSET

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

        seed = self.seed

        image = self.image

        mask = self.mask

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
        if seed is not UNSET:
            field_dict["seed"] = seed
        if image is not UNSET:
            field_dict["image"] = image
        if mask is not UNSET:
            field_dict["mask"] = mask

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        model_name = d.pop("model_name")

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

        seed = d.pop("seed", UNSET)

        image = d.pop("image", UNSET)

        mask = d.pop("mask", UNSET)

        other_model_request = cls(
            model_name=model_name,
            prompt=prompt,
            negative_prompt=negative_prompt,
            num_steps=num_steps,
            guidance_scale=guidance_scale,
            width=width,
            height=height,
            seed=seed,
            image=image,
            mask=mask,
        )

        return other_model_request
