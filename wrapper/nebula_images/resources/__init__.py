"""The namespaces of a client: ``client.images`` and ``client.models``."""

from .images import AsyncImages, Images
from .models import AsyncModels, Models

__all__ = ["AsyncImages", "AsyncModels", "Images", "Models"]
