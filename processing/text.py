"""Text decoding and normalisation: bytes of a web page in, clean Unicode text out.

Decoding follows the order a browser uses, with one corpus-minded exception: a byte order mark
wins, then the HTTP charset, then a <meta> charset; a declaration that cannot decode the bytes
is ignored and the encoding is detected (charset-normalizer). A single-byte declaration (Latin-1
and friends) on bytes that are valid multi-byte UTF-8 is treated as wrong, since random Latin-1
text is practically never valid UTF-8. Mojibake that survives is fixed with ftfy.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

import ftfy
from charset_normalizer import from_bytes
from ftfy.badness import is_bad

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
# <meta charset="x"> and <meta http-equiv="Content-Type" content="text/html; charset=x">
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_SNIFF_BYTES = 4096  # the HTML standard looks for the meta charset in the first 1024 bytes; be generous
# WHATWG: these labels mean windows-1252 on the web (so 0x80-0x9f are curly quotes, not controls).
_WEB_ALIASES = {"latin_1": "cp1252", "iso8859-1": "cp1252", "ascii": "cp1252"}
_CP1252_CHAOS_MARGIN = 0.05
_SINGLE_BYTE_PREFIXES = ("cp", "latin", "iso8859", "mac", "koi8", "windows")


@dataclass(frozen=True)
class DecodedHtml:
    text: str
    encoding: str
    how: str  # bom | http | meta | utf8_over_declared | detected | utf8 | fallback


def _codec_name(label: str | None) -> str | None:
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None
    return _WEB_ALIASES.get(name, name)


def declared_charset(body: bytes, content_type: str | None) -> tuple[str | None, str | None]:
    """The (codec, where) a page declares: HTTP header first, then <meta>; (None, None) if neither."""
    if content_type:
        match = _HTTP_CHARSET.search(content_type)
        codec = _codec_name(match.group(1)) if match else None
        if codec:
            return codec, "http"
    match = _META_CHARSET.search(body[:_SNIFF_BYTES])
    codec = _codec_name(match.group(1).decode("ascii", "ignore")) if match else None
    return (codec, "meta") if codec else (None, None)


def _strict(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _detect(body: bytes):
    """charset-normalizer's guess, with the web's prior: single-byte guesses are ambiguous
    (cp1257 and cp1252 both decode French), and windows-1252 is by far the most common legacy
    encoding, so it wins when it reads the bytes almost as cleanly as the best guess."""
    matches = list(from_bytes(body))
    if not matches:
        return None
    best = matches[0]
    for match in matches:
        if "cp1252" in match.could_be_from_charset and match.chaos <= best.chaos + _CP1252_CHAOS_MARGIN:
            return match
    return best


def decode_html(body: bytes, content_type: str | None = None) -> DecodedHtml:
    """Decode a page's bytes (see the module docstring for the order of evidence)."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return DecodedHtml(body[len(bom) :].decode(codec, errors="replace"), codec, "bom")
    codec, where = declared_charset(body, content_type)
    as_utf8 = _strict(body, "utf-8")
    if codec:
        if codec.startswith(_SINGLE_BYTE_PREFIXES) and as_utf8 is not None and not body.isascii():
            return DecodedHtml(as_utf8, "utf-8", "utf8_over_declared")
        text = as_utf8 if codec == "utf-8" else _strict(body, codec)
        if text is not None:
            return DecodedHtml(text, codec, where)
    if as_utf8 is not None:
        return DecodedHtml(as_utf8, "utf-8", "utf8")
    best = _detect(body)
    if best is not None:
        return DecodedHtml(str(best), best.encoding, "detected")
    return DecodedHtml(body.decode("cp1252", errors="replace"), "cp1252", "fallback")


# Any whitespace except newline (tabs, NBSP, thin spaces...) that is not already one plain space:
# matching every single space too gives the same text at several times the cost.
_INLINE_SPACE = re.compile(r"[^\S\n]{2,}|[^\S\n ]")
_BLANK_LINES = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[^\S\n]+(?=\n|$)")
_SPACE_AROUND_NEWLINE = re.compile(r" \n ?|\n ")  # (a bare newline needs no replacing)
# Zero-width marks, soft hyphens, and C0/C1 control characters other than tab and newline.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_FTFY_CONFIG = ftfy.TextFixerConfig(uncurl_quotes=False, normalization="NFC", explain=False)


def _mojibake_candidates(text: str) -> str:
    """The lines of `text` that hold a non-ASCII character, each after the last character of the
    line before it: ftfy's detector only matches sequences that hold a non-ASCII character and
    span at most one line break, so it finds in this what it finds in the whole text, at a
    fraction of the cost on a page of mostly ASCII with curly quotes here and there (a tenth
    on Python's docs)."""
    lines = text.split("\n")
    kept = [(f"{lines[i - 1][-1:]}\n" if i else "") + line for i, line in enumerate(lines) if not line.isascii()]
    return "\n".join(kept)


def normalize_text(text: str, keep_indent: bool = False) -> str:
    """Fix mojibake (ftfy), compose Unicode (NFC), and tidy whitespace: single spaces inside
    lines, no spaces at line ends, at most one blank line between blocks. `keep_indent` (for
    markdown, where indentation nests lists and code) only trims line ends."""
    if not text:
        return ""
    if not text.isascii():  # mojibake and composition need non-ASCII characters
        # ftfy's own detector is one regex over the text; the full fixer works line by line
        # and costs as much as the extraction, so run it only where there is mojibake to fix.
        if is_bad(_mojibake_candidates(text)):
            text = ftfy.fix_text(text, _FTFY_CONFIG)
        text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if keep_indent:
        text = _TRAILING_SPACE.sub("", text)
    else:
        text = _SPACE_AROUND_NEWLINE.sub("\n", _INLINE_SPACE.sub(" ", text))
    return _BLANK_LINES.sub("\n\n", text).strip()


def normalize_inline(value: str | None) -> str | None:
    """Normalise a one-line metadata value (title, author, ...); empty becomes None."""
    if value is None:
        return None
    value = " ".join(normalize_text(value).split())
    return value or None
