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

T = TypeVar("T", bound="FluxFillRequest")


@_attrs_define
class FluxFillRequest:
    """FLUX.1 Fill-dev, inpainting: repaints the white pixels of `mask` in `image`
    following `prompt`. Vendor defaults 40 steps, guidance 4.5. Decided: `image`
    and `mask` are required (inpainting without them has no meaning), and width and
    height must be multiples of 16 (the server silently resizes other sizes; the
    contract refuses them so that the image returned is the size asked for). Some
    vendor pages call the inputs `input_image` / `mask_image`; the reference names
    are `image` / `mask`. Decided too: the schema is closed (a parameter the model
    does not take is refused with 422).

        Attributes:
            model_name (Literal['black-forest-labs/FLUX.1-Fill-dev']): The model to run; this schema applies to FLUX.1 Fill-
                dev (inpainting).
            prompt (str): What to draw. Decided: 1 to 4,000 characters, at least one of them not white
                space (the vendor states no limit; this keeps bodies bounded, and a blank prompt
                is a mistake that would still be billed).
            image (str): The picture to inpaint: a JPEG, PNG or WebP file, base64-encoded (standard
                alphabet, padded, no `data:` prefix).
                Decided: 4 characters (one base64 quantum) to 24 MiB of base64, under the 32 MiB
                body limit (the vendor states no size limit).
            mask (str): The mask, the same size as `image`, base64-encoded like it: white pixels are
                repainted, black ones kept. Decided: the same size limits as `image` (the
                vendor states none) and that the mask must be the size of the image.
            num_steps (int | Unset): Inference steps: more is better quality, slower and dearer. Decided: 1 to 100
                (the vendor states no bounds; its examples use 4, 25 and 40). When left out the
                server uses the model's default.
            guidance_scale (float | Unset): How closely to follow the prompt. Decided: 0 to 30 (the vendor states no bounds;
                its examples use 3.5, 4.5 and 9).
            width (int | Unset): Output width or height for FLUX.1 Fill-dev, a multiple of 16 (the vendor's
                rule). Decided: 64 to 2048, as for the other models.
            height (int | Unset): Output width or height for FLUX.1 Fill-dev, a multiple of 16 (the vendor's
                rule). Decided: 64 to 2048, as for the other models.
    """

    model_name: Literal["black-forest-labs/FLUX.1-Fill-dev"]
    prompt: str
    image: str
    mask: str
    num_steps: int | Unset = UNSET
    guidance_scale: float | Unset = UNSET
    width: int | Unset = UNSET
    height: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        model_name = self.model_name

        prompt = self.prompt

        image = self.image

        mask = self.mask

        num_steps = self.num_steps

        guidance_scale = self.guidance_scale

        width = self.width

        height = self.height

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "model_name": model_name,
                "prompt": prompt,
                "image": image,
                "mask": mask,
            }
        )
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
            Literal["black-forest-labs/FLUX.1-Fill-dev"], d.pop("model_name")
        )
        if model_name != "black-forest-labs/FLUX.1-Fill-dev":
            raise ValueError(
                f"model_name must match const 'black-forest-labs/FLUX.1-Fill-dev', got '{model_name}'"
            )

        prompt = d.pop("prompt")

        image = d.pop("image")

        mask = d.pop("mask")

        num_steps = d.pop("num_steps", UNSET)

        guidance_scale = d.pop("guidance_scale", UNSET)

        width = d.pop("width", UNSET)

        height = d.pop("height", UNSET)

        flux_fill_request = cls(
            model_name=model_name,
            prompt=prompt,
            image=image,
            mask=mask,
            num_steps=num_steps,
            guidance_scale=guidance_scale,
            width=width,
            height=height,
        )

        return flux_fill_request
