"""The Chroma client: embedded on disk, or a server with a bounded timeout."""

import chromadb
import httpx
from chromadb.config import Settings as ChromaSettings

from rag.core.errors import StoreUnavailable
from rag.core.settings import Settings
from rag.index.failures import cannot_open


def connect(settings: Settings):  # type: ignore[no-untyped-def]
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    server = settings.chroma_server
    try:
        if server:
            from urllib.parse import urlparse

            url = urlparse(server)
            # chromadb's own HTTP client never times out: a frozen server would hang every caller.
            timeout = httpx.Timeout(
                settings.chroma_timeout, connect=min(5.0, settings.chroma_timeout)
            )
            httpx.get(f"{server.rstrip('/')}/api/v2/heartbeat", timeout=timeout).raise_for_status()
            client = chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or 8000,
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
            session = getattr(getattr(client, "_server", None), "_session", None)
            if isinstance(session, httpx.Client):  # a private attribute: tests/test_faults.py
                session.timeout = timeout
            return client
        path = settings.data_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as err:
        if server:
            raise StoreUnavailable(f"cannot reach the Chroma store at {server}: {err}") from err
        raise cannot_open(err, f"the index at {settings.data_dir / 'chroma'}") from err
