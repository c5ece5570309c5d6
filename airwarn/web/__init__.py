"""The HTTP service: FastAPI routers over a `Service`, built by `create_app`."""

from airwarn.web.app import WebSettings, create_app

__all__ = ["WebSettings", "create_app"]
