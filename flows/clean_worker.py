"""Preloaded by the clean stage's forkserver: imports the cleaning code and loads the language
model once, so that every worker forked from it (and every replacement for a worker killed at
its time limit) starts warm instead of spending its first page's time budget on loading."""

from corpusforge.processing.clean import clean_page
from corpusforge.processing.language import identify_language

identify_language("warm up the language model")

__all__ = ["clean_page"]
