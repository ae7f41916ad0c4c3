"""A document's text split by what each line is, and words and sentences counted per language.

The extraction renders the main content as markdown: fenced code blocks, table rows (`| a | b |`),
headings (`# ...`), list items (`- ...`) and paragraphs. Rules written for open-web prose (Gopher,
C4, FineWeb) misread code and tables: a code line ends in no punctuation, a table repeats its
cells, a `{` is syntax, not spam. So the quality signals read the *prose* lines, and code and
tables are measured on their own (`code_line_fraction`, `table_row_fraction`).

Languages written without spaces (Chinese, Japanese) are segmented into words with a segmenter
that ships its dictionary (jieba-rs for Chinese, MeCab with UniDic-lite for Japanese), and their
sentences end in `。！？` as well as `.!?`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

_FENCE = re.compile(r"^\s*(```|~~~)")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?[\s:|-]+\|[\s:|-]*$")
_HEADING = re.compile(r"^\s*#{1,6}\s")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])(?:\s|$)")
_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
_INLINE_MARKUP = re.compile(r"`+|\*\*|(?<!\w)\*(?!\s)|(?<!\s)\*(?!\w)")
# CJK ideographs, kana and hangul: the scripts written without spaces between words.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_HAS_ALNUM = re.compile(r"[^\W_]")
SPACELESS_LANGUAGES = ("zh", "ja")
# Punctuation stripped from a token's ends before it is compared as a word (Latin and CJK).
WORD_PUNCTUATION = "\"'“”‘’«»()[]{}<>.,;:!?¿¡…-–—*#/\\|`~_「」『』（）【】、。！？：；"
SENTENCE_END = re.compile(r"[.!?…]+(?=\s|$)|[。！？]+")


@dataclass
class Segments:
    """The lines of a document by kind (stripped, blank lines dropped, markup left as is)."""

    prose: list[str] = field(default_factory=list)  # paragraphs' lines and list items
    headings: list[str] = field(default_factory=list)
    list_items: list[str] = field(default_factory=list)  # also in `prose`
    code: list[str] = field(default_factory=list)
    table_rows: list[str] = field(default_factory=list)
    prose_paragraphs: list[str] = field(default_factory=list)

    @property
    def line_count(self) -> int:
        return len(self.prose) + len(self.headings) + len(self.code) + len(self.table_rows)


def split_markdown(markdown: str) -> Segments:
    """Classify each line of the extraction's markdown (see the module docstring)."""
    seg = Segments()
    in_code = False
    paragraph: list[str] = []

    def end_paragraph() -> None:
        if paragraph:
            seg.prose_paragraphs.append("\n".join(paragraph))
            paragraph.clear()

    for raw in markdown.split("\n"):
        if _FENCE.match(raw):
            in_code = not in_code
            end_paragraph()
            continue
        line = raw.strip()
        if in_code:
            if line:
                seg.code.append(line)
            continue
        if not line:
            end_paragraph()
        elif _TABLE_ROW.match(line):
            end_paragraph()
            if not _TABLE_RULE.match(line):
                seg.table_rows.append(line)
        elif _HEADING.match(line):
            end_paragraph()
            seg.headings.append(line.lstrip("#").strip())
        else:
            line = plain(line)
            if not line or line in ("-", "*"):
                continue  # a list marker alone on its line (definition lists render that way)
            if _LIST_ITEM.match(line):
                seg.list_items.append(line)
            seg.prose.append(line)
            paragraph.append(line)
    end_paragraph()
    return seg


def plain(line: str) -> str:
    """A markdown line as text: escapes undone, inline code and emphasis markers removed.
    (Each pattern runs only on lines holding its character: most prose lines hold neither.)"""
    if "\\" in line:
        line = _MARKDOWN_ESCAPE.sub(r"\1", line)
    if "`" in line or "*" in line:
        line = _INLINE_MARKUP.sub("", line)
    return line.strip()


def is_spaceless(text: str, language: str | None) -> bool:
    """True for Chinese/Japanese text (by the detected language, or by its script)."""
    if language in SPACELESS_LANGUAGES:
        return True
    sample = text[:2000]
    return len(_CJK.findall(sample)) > 0.3 * max(1, len(sample.replace(" ", "")))


@lru_cache(maxsize=1)
def _japanese_tagger():
    import fugashi  # MeCab with the UniDic-lite dictionary it ships: no download

    return fugashi.Tagger()


def _segment_spaceless(text: str, language: str | None) -> list[str]:
    if language == "ja" or (language not in ("zh",) and re.search(r"[\u3040-\u30ff]", text)):
        return [w.surface for w in _japanese_tagger()(text)]
    import rjieba  # jieba-rs: Chinese word segmentation with its dictionary built in

    return rjieba.cut(text)


def has_spaceless_script(text: str) -> bool:
    """Whether `text` holds Chinese, Japanese or Korean characters (which `tokens` segments)."""
    return _CJK.search(text) is not None


def tokens(text: str, language: str | None) -> list[str]:
    """Whitespace tokens; a run of Chinese/Japanese characters is split by the segmenter
    (punctuation included: the callers decide what a word is)."""
    if not _CJK.search(text):
        return text.split()
    out: list[str] = []
    for chunk in text.split():
        if _CJK.search(chunk):
            out.extend(t for t in _segment_spaceless(chunk, language) if t.strip())
        else:
            out.append(chunk)
    return out


def words(text: str, language: str | None) -> list[str]:
    """Tokens with at least one letter or digit (bare punctuation is not a word)."""
    return [t for t in tokens(text, language) if _HAS_ALNUM.search(t)]


def sentence_count(text: str) -> int:
    return len(SENTENCE_END.findall(text))
