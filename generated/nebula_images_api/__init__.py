"""A client library for accessing NebulaBlock Serverless Image Generation API"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
