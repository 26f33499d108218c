from __future__ import annotations

from collections.abc import Mapping
from typing import (
    TYPE_CHECKING,
    Any,
    Literal,
    Self,
    TypeVar,
    cast,
)

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.generated_image import GeneratedImage


T = TypeVar("T", bound="ImageGenerationResponse")


@_attrs_define
class ImageGenerationResponse:
    """The reference page's success body.

    Attributes:
        model (str): The model that ran.
        object_ (Literal['list']): Always `list`.
        data (list[GeneratedImage]): The generated images, `index` 0 first. Decided: a success has at least one
            image (the vendor's pages do not say).
        message (str): A message on the outcome, such as `Image generated successfully`.
        status (Literal['success']): `success`. A failed generation has the body `GenerationFailure` instead,
            whatever the HTTP status.
    """

    model: str
    object_: Literal["list"]
    data: list[GeneratedImage]
    message: str
    status: Literal["success"]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        model = self.model

        object_ = self.object_

        data = []
        for data_item_data in self.data:
            data_item = data_item_data.to_dict()
            data.append(data_item)

        message = self.message

        status = self.status

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "model": model,
                "object": object_,
                "data": data,
                "message": message,
                "status": status,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.generated_image import GeneratedImage

        d = dict(src_dict)
        model = d.pop("model")

        object_ = cast(Literal["list"], d.pop("object"))
        if object_ != "list":
            raise ValueError(f"object must match const 'list', got '{object_}'")

        data = []
        _data = d.pop("data")
        for data_item_data in _data:
            data_item = GeneratedImage.from_dict(data_item_data)

            data.append(data_item)

        message = d.pop("message")

        status = cast(Literal["success"], d.pop("status"))
        if status != "success":
            raise ValueError(f"status must match const 'success', got '{status}'")

        image_generation_response = cls(
            model=model,
            object_=object_,
            data=data,
            message=message,
            status=status,
        )

        image_generation_response.additional_properties = d
        return image_generation_response

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
