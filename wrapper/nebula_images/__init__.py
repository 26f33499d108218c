"""nebula_images: a spec-driven client for NebulaBlock's serverless image generation."""

__version__ = "0.1.0"
