"""Imported only by the clean pool's forkserver (`WORKER_PRELOAD` in flows/clean.py), never by the
driver: the language model is loaded there once, before any worker is forked, so every worker
(and every replacement for one killed at its time limit) starts with it in memory shared with
the forkserver, instead of each loading its own copy. A stage with nothing to clean starts no
forkserver, so it still never loads the model."""

from corpusforge.processing.language import identify_language

identify_language("load the language model")
