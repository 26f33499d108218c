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

# Type checkers read the imports below (``X as X``: an explicit re-export under
# mypy --strict); at run time the same names load lazily through ``_LAZY``.
if TYPE_CHECKING:
    from typing import Any

    from ._batch import BatchError as BatchError
    from ._batch import BatchProgress as BatchProgress
    from ._batch import BatchRequest as BatchRequest
    from ._batch import BatchSkipped as BatchSkipped
    from ._client import AsyncClient as AsyncClient
    from ._client import Client as Client
    from ._errors import APIConnectionError as APIConnectionError
    from ._errors import APIError as APIError
    from ._errors import APIStatusError as APIStatusError
    from ._errors import APITimeoutError as APITimeoutError
    from ._errors import AuthenticationError as AuthenticationError
    from ._errors import BadRequestError as BadRequestError
    from ._errors import GenerationFailedError as GenerationFailedError
    from ._errors import InternalServerError as InternalServerError
    from ._errors import NebulaError as NebulaError
    from ._errors import NotFoundError as NotFoundError
    from ._errors import PermissionDeniedError as PermissionDeniedError
    from ._errors import RateLimitError as RateLimitError
    from ._errors import ResponseValidationError as ResponseValidationError
    from ._errors import UnprocessableEntityError as UnprocessableEntityError
    from ._errors import ValidationError as ValidationError
    from ._hooks import RequestEvent as RequestEvent
    from ._images import GenerationResult as GenerationResult
    from ._images import Image as Image
    from ._images import ModelInfo as ModelInfo
    from ._models_table import DEFAULT_MODEL as DEFAULT_MODEL
    from ._models_table import MODELS as MODELS
    from ._models_table import ModelRules as ModelRules
    from ._models_table import resolve_model as resolve_model

# public name -> private module that defines it
_LAZY = {
    name: module
    for module, names in (
        ("_client", ("Client", "AsyncClient")),
        ("_batch", ("BatchRequest", "BatchError", "BatchSkipped", "BatchProgress")),
        ("_images", ("GenerationResult", "Image", "ModelInfo")),
        ("_hooks", ("RequestEvent",)),
        ("_models_table", ("DEFAULT_MODEL", "MODELS", "ModelRules", "resolve_model")),
        (
            "_errors",
            (
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
            ),
        ),
    )
    for name in names
}

__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nebula_images' has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    # A set: a name already loaded is in globals() and in _LAZY, and dir() must list it once.
    return sorted({*globals(), *_LAZY})
