from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.model_list_response_status import (
    ModelListResponseStatus,
    check_model_list_response_status,
)

if TYPE_CHECKING:
    from ..models.model_list_response_data import ModelListResponseData


T = TypeVar("T", bound="ModelListResponse")


@_attrs_define
class ModelListResponse:
    """The model catalogue.

    Attributes:
        data (ModelListResponseData):
        message (str): A message on the outcome.
        status (ModelListResponseStatus): `success` in the vendor's example. Decided: `failed` is admitted too, the
            status of the vendor's error bodies.
    """

    data: ModelListResponseData
    message: str
    status: ModelListResponseStatus
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = self.data.to_dict()

        message = self.message

        status: str = self.status

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "data": data,
                "message": message,
                "status": status,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.model_list_response_data import ModelListResponseData

        d = dict(src_dict)
        data = ModelListResponseData.from_dict(d.pop("data"))

        message = d.pop("message")

        status = check_model_list_response_status(d.pop("status"))

        model_list_response = cls(
            data=data,
            message=message,
            status=status,
        )

        model_list_response.additional_properties = d
        return model_list_response

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
