"""What counts as prose, and how a parsed document is packed into articles of a readable length."""

from __future__ import annotations

import re

from corpusforge.connectors.sample_site.text import MAX_ARTICLE_WORDS, Block, _blocks_words

_STOPWORDS = {
    "en": frozenset("the and of to is in that it for with this are be as on by an or not from can if".split()),
    "de": frozenset(
        "der die und das ist nicht den mit von zu ein eine wird werden für auf im sie es dem des oder "
        "wenn kann sich auch bei einer eines wie nur".split()
    ),
    "fr": frozenset(
        "le la les et est des une un du pour dans que qui sur par pas ne au avec sont ce cette être peut "
        "ou si il se aux".split()
    ),
    "es": frozenset(
        "el la los las y es de que en un una del por para con se no al lo como si su puede son este esta o".split()
    ),
}
# A word made of letters (inner apostrophes and hyphens allowed), wrapped in punctuation or digits, but
# with none of the characters that mark code: ( ) = _ / [ ].
_AFFIX = r"(?:[^\s\w()=/\[\]]|\d)*"
_ALPHA_TOKEN = re.compile(rf"(?<!\S){_AFFIX}[^\W\d_]+(?:['’-][^\W\d_]+)*{_AFFIX}(?!\S)")


def _is_prose(text: str, lang: str, min_words: int) -> bool:
    words = text.split()
    if len(words) < min_words or len(text) > 4000:
        return False
    if any(bad in text for bad in (">>>", "{", "}", "\\", "==", "::", "$ ", "#include", "<<", ">>")):
        return False
    alpha = len(_ALPHA_TOKEN.findall(text))
    if alpha / len(words) < 0.72:
        return False
    if min_words >= 6 and not re.search(r"[.!?:)\"»”]$", text):
        return False
    lowered = [w.strip(".,;:!?()«»\"'“”").lower() for w in words]
    own = sum(1 for w in lowered if w in _STOPWORDS[lang])
    if lang == "en":
        return own >= max(1, len(words) // 15)
    english = sum(1 for w in lowered if w in _STOPWORDS["en"] and w not in _STOPWORDS[lang])
    return own >= max(2, len(words) // 10) and english * 2 < own


def _sections(blocks: list[Block]) -> list[list[Block]]:
    """Split at h2 headings (the first section is the introduction, without a heading)."""
    sections: list[list[Block]] = [[]]
    for block in blocks:
        if block[0] == "h2":
            sections.append([])
        sections[-1].append(block)
    return [s for s in sections if s]


def _split_large(section: list[Block]) -> list[list[Block]]:
    parts: list[list[Block]] = [[]]
    count = 0
    for block in section:
        words = _blocks_words([block])
        if parts[-1] and count + words > MAX_ARTICLE_WORDS * 0.8 and block[0] in ("h3", "p"):
            parts.append([])
            count = 0
        if words > MAX_ARTICLE_WORDS * 0.8:
            continue
        parts[-1].append(block)
        count += words
    return [p for p in parts if p]


def _pack_articles(title: str, blocks: list[Block]) -> list[tuple[str, tuple[Block, ...]]]:
    """Pack a document's sections into articles of at most MAX_ARTICLE_WORDS words."""
    pieces: list[list[Block]] = []
    for section in _sections(blocks):
        if _blocks_words(section) > MAX_ARTICLE_WORDS * 0.8:
            pieces.extend(_split_large(section))
        else:
            pieces.append(section)
    articles: list[list[Block]] = []
    current: list[Block] = []
    count = 0
    for piece in pieces:
        words = _blocks_words(piece)
        if current and (count + words > MAX_ARTICLE_WORDS * 0.8 or count >= 700):
            articles.append(current)
            current, count = [], 0
        current.extend(piece)
        count += words
    if current:
        articles.append(current)
    out = []
    for index, article in enumerate(articles):
        article_title = title
        if index:
            heading = next((b[1] for b in article if b[0] in ("h2", "h3")), f"part {index + 1}")
            article_title = f"{title}: {heading}" if heading.lower() not in title.lower() else title
        out.append((article_title, tuple(article)))
    return out
