"""Ingest: read a file (loaders, injection), cut it into chunks, index a folder."""
