"""The knowledge engine: ingest help articles, retrieve passages, answer with citations.

Stands alone (no Rasa imports) so the `kb` CLI and the action server share it.
"""
