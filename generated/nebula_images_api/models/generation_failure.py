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
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="GenerationFailure")


@_attrs_define
class GenerationFailure:
    """The body of a generation that failed: `{"message": ..., "status": "failed",
    "data": null}`, the shape of the vendor's error bodies. Clients turn it into an
    error carrying `message`. `data` is `null` or absent; it has no `type` because a
    `null`-only type breaks common generators.

        Attributes:
            message (str): What went wrong.
            status (Literal['failed']): Always `failed`.
            data (Any | Unset): `null` (or absent) in a failure body.
    """

    message: str
    status: Literal["failed"]
    data: Any | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        message = self.message

        status = self.status

        data = self.data

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "message": message,
                "status": status,
            }
        )
        if data is not UNSET:
            field_dict["data"] = data

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        message = d.pop("message")

        status = cast(Literal["failed"], d.pop("status"))
        if status != "failed":
            raise ValueError(f"status must match const 'failed', got '{status}'")

        data = d.pop("data", UNSET)

        generation_failure = cls(
            message=message,
            status=status,
            data=data,
        )

        generation_failure.additional_properties = d
        return generation_failure

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
