"""py3langid's language model, kept uncompressed in the user's cache folder.

py3langid ships its model LZMA-compressed (4.5 MB, 68 MB of arrays): decompressing it costs
0.5 s and converting it 0.4 s, on the path of every process that identifies a language (the
clean stage's forkserver, before any worker starts; each Dask clean child). The arrays, and the
DFA's state depths that processing/language.py's feature counter would otherwise find by walking
the whole automaton, are written once to the cache folder and memory-mapped from there by every
later process (0.02-0.03 s). `use_cached_model()` makes that this process's loader.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from importlib.metadata import version
from pathlib import Path

import numpy as np
from py3langid.langid import MODEL_DIR, MODEL_FILE
from py3langid.modelio import load_model

from corpusforge.processing.language import FastLanguageIdentifier, load_from_package, use_model_loader

_MODEL_ARRAYS = ("ptc", "pc", "nextmove", "nextmove_row", "out_feat", "state_depth")


def _model_path() -> Path:
    path = Path(MODEL_FILE)
    return path if path.is_absolute() else MODEL_DIR / path


def model_cache_dir() -> Path:
    """The uncompressed copy's folder, named by what the model is (py3langid's version, the file's
    size and time), under the user's cache folder (flows/prefect_server.state_dir's)."""
    stat = _model_path().stat()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "corpusforge"
    return base / f"langid-model-{version('py3langid')}-{stat.st_size}-{stat.st_mtime_ns}"


def _model_with_cache(folder: Path) -> FastLanguageIdentifier:
    """The model from py3langid's file, and its uncompressed copy in `folder`. Best effort,
    written aside and renamed: a read-only cache folder only costs the next process the
    decompression again."""
    ptc, pc, classes, nextmove, row, output = load_model(_model_path())
    identifier = FastLanguageIdentifier(ptc, pc, classes, nextmove, output, norm_probs=True, tk_row=row)
    arrays = {
        "ptc": ptc,
        "pc": pc,
        "nextmove": np.asarray(nextmove),
        "nextmove_row": np.asarray(row),
        "out_feat": np.asarray(output, dtype=np.int32),
        "state_depth": identifier._suffix_states.depth,
    }
    tmp = folder.with_name(f"{folder.name}.{secrets.token_hex(4)}.tmp")
    try:
        tmp.mkdir(parents=True)
        for name, values in arrays.items():
            np.save(tmp / f"{name}.npy", values)
        (tmp / "classes.json").write_text(json.dumps(classes))
        os.replace(tmp, folder)
    except OSError:  # read-only, full, or another process renamed its copy first
        shutil.rmtree(tmp, ignore_errors=True)
    return identifier


def load_identifier() -> FastLanguageIdentifier:
    """The model from the uncompressed copy (made on first use), else from py3langid's file."""
    folder = model_cache_dir()
    if not folder.is_dir():
        return _model_with_cache(folder)
    try:
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in _MODEL_ARRAYS}
        classes = json.loads((folder / "classes.json").read_text())
    except (OSError, ValueError):  # a damaged copy: this process reads py3langid's file, the next makes a copy
        shutil.rmtree(folder, ignore_errors=True)
        return load_from_package()
    return FastLanguageIdentifier(
        np.asarray(arrays["ptc"]),
        np.asarray(arrays["pc"]),
        classes,
        arrays["nextmove"],
        arrays["out_feat"].tolist(),
        norm_probs=True,
        tk_row=arrays["nextmove_row"].tolist(),  # Python ints: py3langid shifts them by 8 bits
        state_depth=np.asarray(arrays["state_depth"]),
    )


def use_cached_model() -> None:
    """Load this process's language model (when first needed) from the uncompressed copy."""
    use_model_loader(load_identifier)
