"""The REST API on :10002: OpenIM's HTTP conventions (framework.py), one module of routes per OpenIM area
(routes/), the OpenAPI document (openapi.py) and the app that serves them with the ops endpoints (app.py)."""
