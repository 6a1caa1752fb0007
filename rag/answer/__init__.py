"""Answers: retrieve, score evidence, generate, cite, verify; prompts."""
