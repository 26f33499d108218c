from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ServerlessModel")


@_attrs_define
class ServerlessModel:
    """One model of the catalogue. Decided: `model_name` and `model_type` are required
    (the vendor lists the fields without saying which are always there).

        Attributes:
            model_name (str): The id to send as `model_name`.
            model_type (str): `Text`, `Image`, `Embedding` and others to come: not an enum, so that a new type breaks no
                client.
            model_alias (None | str | Unset):
            context_length (int | None | Unset):
            max_completion_tokens (int | None | Unset):
            description (None | str | Unset):
            price (float | None | Unset): Price in US dollars per request (per image for image models).
            huggingface_url (None | str | Unset):
    """

    model_name: str
    model_type: str
    model_alias: None | str | Unset = UNSET
    context_length: int | None | Unset = UNSET
    max_completion_tokens: int | None | Unset = UNSET
    description: None | str | Unset = UNSET
    price: float | None | Unset = UNSET
    huggingface_url: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        model_name = self.model_name

        model_type = self.model_type

        model_alias: None | str | Unset
        if isinstance(self.model_alias, Unset):
            model_alias = UNSET
        else:
            model_alias = self.model_alias

        context_length: int | None | Unset
        if isinstance(self.context_length, Unset):
            context_length = UNSET
        else:
            context_length = self.context_length

        max_completion_tokens: int | None | Unset
        if isinstance(self.max_completion_tokens, Unset):
            max_completion_tokens = UNSET
        else:
            max_completion_tokens = self.max_completion_tokens

        description: None | str | Unset
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        price: float | None | Unset
        if isinstance(self.price, Unset):
            price = UNSET
        else:
            price = self.price

        huggingface_url: None | str | Unset
        if isinstance(self.huggingface_url, Unset):
            huggingface_url = UNSET
        else:
            huggingface_url = self.huggingface_url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "model_name": model_name,
                "model_type": model_type,
            }
        )
        if model_alias is not UNSET:
            field_dict["model_alias"] = model_alias
        if context_length is not UNSET:
            field_dict["context_length"] = context_length
        if max_completion_tokens is not UNSET:
            field_dict["max_completion_tokens"] = max_completion_tokens
        if description is not UNSET:
            field_dict["description"] = description
        if price is not UNSET:
            field_dict["price"] = price
        if huggingface_url is not UNSET:
            field_dict["huggingface_url"] = huggingface_url

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        model_name = d.pop("model_name")

        model_type = d.pop("model_type")

        def _parse_model_alias(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        model_alias = _parse_model_alias(d.pop("model_alias", UNSET))

        def _parse_context_length(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        context_length = _parse_context_length(d.pop("context_length", UNSET))

        def _parse_max_completion_tokens(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        max_completion_tokens = _parse_max_completion_tokens(
            d.pop("max_completion_tokens", UNSET)
        )

        def _parse_description(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        description = _parse_description(d.pop("description", UNSET))

        def _parse_price(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        price = _parse_price(d.pop("price", UNSET))

        def _parse_huggingface_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        huggingface_url = _parse_huggingface_url(d.pop("huggingface_url", UNSET))

        serverless_model = cls(
            model_name=model_name,
            model_type=model_type,
            model_alias=model_alias,
            context_length=context_length,
            max_completion_tokens=max_completion_tokens,
            description=description,
            price=price,
            huggingface_url=huggingface_url,
        )

        serverless_model.additional_properties = d
        return serverless_model

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
