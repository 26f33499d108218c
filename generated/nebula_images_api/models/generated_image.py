from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.timings import Timings


T = TypeVar("T", bound="GeneratedImage")


@_attrs_define
class GeneratedImage:
    """One generated image (the reference page's `data` item).

    Attributes:
        timings (Timings): The time taken for inference.
        index (int): Position of the image in `data`. Decided: counted from 0 (as in the vendor's example).
        b64_json (str): The image file, base64-encoded (a PNG unless the model says otherwise; the
            reference page's "base64-encoded JSON" means this string). Decode it to get
            the file's bytes. Decided: a PNG (the vendor does not name the file format).
        seed (int | Unset): The seed that ran, so a random-seed image can be reproduced. Decided: the
            vendor does not document this field (the local mock sends it); clients must
            not require it.
    """

    timings: Timings
    index: int
    b64_json: str
    seed: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        timings = self.timings.to_dict()

        index = self.index

        b64_json = self.b64_json

        seed = self.seed

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "timings": timings,
                "index": index,
                "b64_json": b64_json,
            }
        )
        if seed is not UNSET:
            field_dict["seed"] = seed

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.timings import Timings

        d = dict(src_dict)
        timings = Timings.from_dict(d.pop("timings"))

        index = d.pop("index")

        b64_json = d.pop("b64_json")

        seed = d.pop("seed", UNSET)

        generated_image = cls(
            timings=timings,
            index=index,
            b64_json=b64_json,
            seed=seed,
        )

        generated_image.additional_properties = d
        return generated_image

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
