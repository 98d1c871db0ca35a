"""Logging that cannot carry personal data in a URL.

The server's own access log writes each request's raw path, and a mistaken integrator could put
an identity code there. It is switched off; the service logs one line per request itself, with
the route template (`/v1/clients/{client_id}/segment`) instead of the path.
"""

import logging
import sys

ACCESS = logging.getLogger("segmentti.access")


def configure_logging(level: str = "INFO") -> None:
    logging.getLogger("uvicorn.access").disabled = True
    service = logging.getLogger("segmentti")
    if not service.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s %(message)s"))
        service.addHandler(handler)
        service.setLevel(level.upper())
        service.propagate = False
