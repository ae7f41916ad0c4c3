"""Imported only by the clean pool's forkserver (`WORKER_PRELOAD` in flows/clean.py), never by the
driver: the language model is loaded there once, before any worker is forked, so every worker
(and every replacement for one killed at its time limit) starts with it in memory shared with
the forkserver, instead of each loading its own copy. A stage with nothing to clean starts no
forkserver, so it still never loads the model.

Then everything imported so far is moved out of the garbage collector's reach (`gc.freeze`):
the workers' collections no longer walk the hundreds of thousands of objects of the imported
libraries, and no longer write to those objects' memory, which would copy the shared pages
into every worker."""

import gc

from corpusforge.flows.clean_worker import load_language_model

load_language_model()
gc.freeze()
