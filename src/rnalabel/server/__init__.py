"""The web face of rnalabel: a FastAPI app (:func:`~rnalabel.server.app.create_app`) with a page at ``/``.

FastAPI, uvicorn and pydantic come with the ``serve`` extra; nothing else in the package imports this module.
"""

from rnalabel.server.app import Limits, create_app

__all__ = ["Limits", "create_app"]
