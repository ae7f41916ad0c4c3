"""Decoding by HTTP charset, meta charset and detection; ftfy, NFC and whitespace."""

from __future__ import annotations

import unicodedata

from corpusforge.processing.clean import extract_page
from corpusforge.processing.text import decode_html, normalize_text

FRENCH = (
    "Le café de la rue Sainte-Catherine était déjà fermé quand nous sommes arrivés à Montréal. "
    "Élodie a préféré marcher jusqu’à la gare, où un garçon vendait des crêpes et des brioches. "
)


def html(body_text: str, meta: str = "") -> str:
    return (
        f"<!DOCTYPE html><html><head>{meta}<title>Café à Montréal</title></head><body><article>"
        + "".join(f"<p>{body_text} Paragraph {i}.</p>" for i in range(4))
        + "</article></body></html>"
    )


def test_declared_latin1_in_http_header():
    decoded = decode_html(html(FRENCH).encode("latin-1", "replace"), "text/html; charset=ISO-8859-1")
    assert decoded.how == "http"
    assert "déjà fermé" in decoded.text


def test_declared_latin1_in_meta_tag():
    body = html(FRENCH.replace("’", "'"), '<meta charset="iso-8859-1">').encode("latin-1")
    decoded = decode_html(body, "text/html")
    assert decoded.how == "meta"
    assert "crêpes" in decoded.text


def test_windows_1252_bytes_declared_as_utf8_are_detected():
    body = html(FRENCH, '<meta charset="utf-8">').encode("cp1252")
    decoded = decode_html(body, "text/html; charset=utf-8")
    assert decoded.how == "detected"
    assert "jusqu’à la gare" in decoded.text


def test_utf8_bytes_declared_as_latin1_stay_utf8():
    decoded = decode_html(html(FRENCH).encode("utf-8"), "text/html; charset=iso-8859-1")
    assert decoded.how == "utf8_over_declared"
    assert "Élodie" in decoded.text


def test_utf8_with_bom_wins_over_a_wrong_declaration():
    body = b"\xef\xbb\xbf" + html(FRENCH, '<meta charset="windows-1252">').encode("utf-8")
    decoded = decode_html(body, "text/html; charset=iso-8859-1")
    assert (decoded.how, decoded.encoding) == ("bom", "utf-8")
    assert not decoded.text.startswith("\ufeff")
    extracted = extract_page(body, "text/html; charset=iso-8859-1", "http://example.test/a")
    assert "déjà fermé" in extracted.text
    assert extracted.title == "Café à Montréal"


def test_normalize_fixes_mojibake_composes_unicode_and_tidies_whitespace():
    mojibake = "Caf\u00c3\u00a9 au lait"  # UTF-8 bytes of "é" read as Latin-1
    decomposed = "Cafe\u0301"  # e + combining acute accent
    text = f"  {mojibake}\u00a0 and\t {decomposed}\u200b  \r\n\n\n\nNext   line  "
    out = normalize_text(text)
    assert out == "Café au lait and Café\n\nNext line"
    assert unicodedata.is_normalized("NFC", out)


def test_normalize_keeps_markdown_indentation():
    markdown = "- item  \n    - nested item\n\n\n\n```\n    code()\n```"
    assert normalize_text(markdown, keep_indent=True) == "- item\n    - nested item\n\n```\n    code()\n```"
