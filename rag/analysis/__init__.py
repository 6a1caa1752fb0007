"""Across documents: summaries and the cross-source comparison."""
