"""nebula_images: a spec-driven client for NebulaBlock's serverless image generation.

``import nebula_images`` is cheap: the public names below load on first use, so the
HTTP stack, the generated client, Pillow, the mock and the CLI cost nothing until a
program needs them.

    from nebula_images import Client

    with Client() as client:  # NEBULA_API_KEY, NEBULA_BASE_URL
        result = client.images.generate("a lighthouse at dawn", seed=7)
        result.images[0].save("lighthouse.png")
"""

from __future__ import annotations

from importlib import import_module  # importlib is loaded at interpreter start-up

# Not ``from typing import TYPE_CHECKING``: importing typing would be most of the
# cost of ``import nebula_images`` (mypy treats this name as true all the same).
TYPE_CHECKING = False

__version__ = "0.1.0"

if TYPE_CHECKING:
    from typing import Any

    from ._client import AsyncClient, Client
    from ._errors import (
        APIConnectionError,
        APIError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        GenerationFailedError,
        InternalServerError,
        NebulaError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        ResponseValidationError,
        UnprocessableEntityError,
        ValidationError,
    )
    from ._hooks import RequestEvent
    from ._images import GenerationResult, Image, ModelInfo
    from ._models_table import DEFAULT_MODEL, MODELS, ModelRules

# public name -> private module that defines it
_LAZY = {
    "Client": "_client",
    "AsyncClient": "_client",
    "GenerationResult": "_images",
    "Image": "_images",
    "ModelInfo": "_images",
    "RequestEvent": "_hooks",
    "DEFAULT_MODEL": "_models_table",
    "MODELS": "_models_table",
    "ModelRules": "_models_table",
    **{
        name: "_errors"
        for name in (
            "NebulaError",
            "ValidationError",
            "APIError",
            "APIStatusError",
            "BadRequestError",
            "AuthenticationError",
            "PermissionDeniedError",
            "NotFoundError",
            "UnprocessableEntityError",
            "RateLimitError",
            "InternalServerError",
            "GenerationFailedError",
            "APIConnectionError",
            "APITimeoutError",
            "ResponseValidationError",
        )
    },
}

__all__ = [
    "DEFAULT_MODEL",
    "MODELS",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "GenerationFailedError",
    "GenerationResult",
    "Image",
    "InternalServerError",
    "ModelInfo",
    "ModelRules",
    "NebulaError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestEvent",
    "ResponseValidationError",
    "UnprocessableEntityError",
    "ValidationError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nebula_images' has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
