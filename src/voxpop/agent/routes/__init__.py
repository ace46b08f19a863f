"""The Selene device API, one router per area, each mounted under /v1 by app.create_app."""
