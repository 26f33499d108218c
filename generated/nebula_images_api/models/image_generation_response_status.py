from typing import Literal

ImageGenerationResponseStatus = Literal["failed", "success"]

IMAGE_GENERATION_RESPONSE_STATUS_VALUES: set[ImageGenerationResponseStatus] = {
    "failed",
    "success",
}


def check_image_generation_response_status(value: str) -> ImageGenerationResponseStatus:
    if value in IMAGE_GENERATION_RESPONSE_STATUS_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {IMAGE_GENERATION_RESPONSE_STATUS_VALUES!r}"
    )
