"""Contains all the data models used in inputs/outputs"""

from .error import Error
from .flux_fill_request import FluxFillRequest
from .flux_schnell_request import FluxSchnellRequest
from .generated_image import GeneratedImage
from .generation_failure import GenerationFailure
from .image_generation_response import ImageGenerationResponse
from .model_list_response import ModelListResponse
from .model_list_response_data import ModelListResponseData
from .model_list_response_status import ModelListResponseStatus
from .other_model_request import OtherModelRequest
from .sdxl_request import SDXLRequest
from .seedream_request import SeedreamRequest
from .serverless_model import ServerlessModel
from .timings import Timings

__all__ = (
    "Error",
    "FluxFillRequest",
    "FluxSchnellRequest",
    "GeneratedImage",
    "GenerationFailure",
    "ImageGenerationResponse",
    "ModelListResponse",
    "ModelListResponseData",
    "ModelListResponseStatus",
    "OtherModelRequest",
    "SDXLRequest",
    "SeedreamRequest",
    "ServerlessModel",
    "Timings",
)
