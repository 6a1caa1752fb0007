"""Scoring answers: hand-written facts, reports and the SQuAD benchmark."""
