"""Language identification, offline: py3langid ships its model inside the PyPI package.

Confidence is py3langid's normalised probability (0..1). The model is loaded once per process.
Only the first few thousand characters are scored: the language of a page does not change
halfway through, and the cost of scoring grows with the length of the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

SAMPLE_CHARS = 2000
UNDETERMINED = "und"


@dataclass(frozen=True)
class LanguageGuess:
    code: str  # ISO 639-1 code, or "und" when the text has nothing to go on
    confidence: float


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def identify_language(text: str) -> LanguageGuess:
    sample = text[:SAMPLE_CHARS]
    if not any(ch.isalpha() for ch in sample):
        return LanguageGuess(UNDETERMINED, 0.0)
    code, confidence = _identifier().classify(sample)
    return LanguageGuess(code, round(float(confidence), 4))


def language_allowed(code: str, allowed: list[str] | tuple[str, ...]) -> bool:
    """An empty allow-list allows every language."""
    return not allowed or code in allowed
