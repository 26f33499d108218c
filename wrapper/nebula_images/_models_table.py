"""The one declarative per-model table, kept in step with openapi.yaml by a test.

Each entry mirrors a per-model request schema and the ``x-nebula-models`` extension
of the spec: which parameters the model takes, the vendor's example values used as
defaults, the size multiple and the read timeout of one generation. A model id not
in the table gets the spec's generic rules (``OtherModelRequest``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

import attrs

__all__ = [
    "BOUNDS",
    "DEFAULT_MODEL",
    "GENERIC",
    "MODELS",
    "ModelRules",
    "rules_for",
]

Kind = Literal["text-to-image", "inpainting", "unknown"]


@attrs.frozen
class Bound:
    """Inclusive numeric bounds of one parameter, from the spec's shared schemas."""

    minimum: float
    maximum: float


@attrs.frozen
class ModelRules:
    """What one model accepts and how it is called."""

    name: str
    schema: str
    kind: Kind
    parameters: frozenset[str]
    required: frozenset[str]
    defaults: Mapping[str, int | float]
    size_multiple: int
    timeout_seconds: float
    known: bool = True


def _frozen(mapping: dict[str, int | float]) -> Mapping[str, int | float]:
    return MappingProxyType(mapping)


# Shared bounds of the spec (Prompt, NumSteps, GuidanceScale, Dimension, Seed).
BOUNDS: Mapping[str, Bound] = MappingProxyType(
    {
        "num_steps": Bound(1, 100),
        "guidance_scale": Bound(0, 30),
        "width": Bound(64, 2048),
        "height": Bound(64, 2048),
        "seed": Bound(-1, 4294967295),
    }
)
PROMPT_MAX_CHARS = 4000
MODEL_NAME_MAX_CHARS = 200
# Base64 text of an input image, at most (Base64Image.maxLength).
MAX_INPUT_BASE64_CHARS = 25165824

MODELS: Mapping[str, ModelRules] = MappingProxyType(
    {
        "stabilityai/stable-diffusion-xl-base-1.0": ModelRules(
            name="stabilityai/stable-diffusion-xl-base-1.0",
            schema="SDXLRequest",
            kind="text-to-image",
            parameters=frozenset(
                {"prompt", "negative_prompt", "num_steps", "guidance_scale", "width", "height"}
            ),
            required=frozenset({"prompt"}),
            defaults=_frozen({"num_steps": 25, "guidance_scale": 9, "width": 1024, "height": 1024}),
            size_multiple=8,
            timeout_seconds=120,
        ),
        "black-forest-labs/FLUX.1-schnell": ModelRules(
            name="black-forest-labs/FLUX.1-schnell",
            schema="FluxSchnellRequest",
            kind="text-to-image",
            parameters=frozenset(
                {"prompt", "num_steps", "guidance_scale", "width", "height", "seed"}
            ),
            required=frozenset({"prompt"}),
            defaults=_frozen(
                {"num_steps": 4, "guidance_scale": 3.5, "width": 1024, "height": 1024, "seed": -1}
            ),
            size_multiple=8,
            timeout_seconds=60,
        ),
        "Bytedance-Seedream-3.0": ModelRules(
            name="Bytedance-Seedream-3.0",
            schema="SeedreamRequest",
            kind="text-to-image",
            parameters=frozenset({"prompt", "guidance_scale", "width", "height"}),
            required=frozenset({"prompt"}),
            defaults=_frozen({"width": 2048, "height": 2048}),
            size_multiple=8,
            timeout_seconds=180,
        ),
        "black-forest-labs/FLUX.1-Fill-dev": ModelRules(
            name="black-forest-labs/FLUX.1-Fill-dev",
            schema="FluxFillRequest",
            kind="inpainting",
            parameters=frozenset(
                {"prompt", "num_steps", "guidance_scale", "width", "height", "image", "mask"}
            ),
            required=frozenset({"prompt", "image", "mask"}),
            defaults=_frozen(
                {"num_steps": 40, "guidance_scale": 4.5, "width": 1024, "height": 1024}
            ),
            size_multiple=16,
            timeout_seconds=180,
        ),
    }
)

DEFAULT_MODEL = "black-forest-labs/FLUX.1-schnell"

# Any other id: every parameter with the shared bounds, no defaults (the server
# decides), and the longest read timeout of the table.
GENERIC = ModelRules(
    name="",
    schema="OtherModelRequest",
    kind="unknown",
    parameters=frozenset(
        {
            "prompt",
            "negative_prompt",
            "num_steps",
            "guidance_scale",
            "width",
            "height",
            "seed",
            "image",
            "mask",
        }
    ),
    required=frozenset({"prompt"}),
    defaults=_frozen({}),
    size_multiple=8,
    timeout_seconds=max(rules.timeout_seconds for rules in MODELS.values()),
    known=False,
)


def rules_for(model: str) -> ModelRules:
    """The rules of ``model``: its table entry, or the generic rules for an unknown id."""
    found = MODELS.get(model)
    return found if found is not None else attrs.evolve(GENERIC, name=model)
