"""The HTTP API and web pages (FastAPI), served by the service itself.

Layer: adapters. Routes call the services and stores of an :class:`api.context.ApiContext`;
no SQL and no business rules in route handlers.
"""
