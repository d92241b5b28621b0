"""The HTTP JSON API under ``/api/v1`` for tills and other systems: the routes are declared
once (``routes``), and both the aiohttp routing (``app``) and the OpenAPI document
(``openapi``) are made from the declarations; the requests and answers are pydantic models
(``models``). Every endpoint calls one core use case."""
