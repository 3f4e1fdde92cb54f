"""Batch scoring by the champion, and by the challenger in shadow."""
