from typing import Literal

ModelListResponseStatus = Literal["failed", "success"]

MODEL_LIST_RESPONSE_STATUS_VALUES: set[ModelListResponseStatus] = {
    "failed",
    "success",
}


def check_model_list_response_status(value: str) -> ModelListResponseStatus:
    if value in MODEL_LIST_RESPONSE_STATUS_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {MODEL_LIST_RESPONSE_STATUS_VALUES!r}"
    )
