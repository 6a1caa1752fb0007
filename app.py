"""The ASGI app: `uvicorn app:app` serves the page at / and the API under /v1 (docs at /docs)."""

import rag  # noqa: F401  (sets the offline environment before anything loads)
from rag.interfaces.api import create_app

app = create_app()
