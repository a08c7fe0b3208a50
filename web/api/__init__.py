"""The JSON API, /api/v1: bearer tokens, the pages' services and read models, OpenAPI 3.1."""

from web.api.views import bp

__all__ = ["bp"]
