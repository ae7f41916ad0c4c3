"""Languages written without spaces: real Chinese and Japanese documentation (Debian Reference,
from the debian-reference-zh-cn / -ja packages) is segmented into words, its sentences end in 。,
and it is kept by both profiles' size and sentence rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpusforge.processing.clean import CleanConfig, clean_page
from corpusforge.processing.quality import merge_thresholds, quality_signals
from corpusforge.processing.segment import sentence_count, words

MANUALS = Path("/usr/share/debian-reference")
SIZE_AND_SENTENCE_REASONS = {"gopher_too_few_words", "gopher_mean_word_length_high", "c4_too_few_sentences"}


def _page(path: Path, url: str, body: bytes | None = None, content_type: str = "text/html") -> dict:
    return {
        "page_id": path.name,
        "url": url,
        "final_url": url,
        "source": "manual",
        "body": body if body is not None else path.read_bytes(),
        "content_type": content_type,
    }


def _clean(page: dict, profile: str) -> dict:
    config = CleanConfig(thresholds=merge_thresholds(profile), profile=profile)
    return clean_page(page, config, config.pipeline_version())


@pytest.mark.parametrize(("suffix", "language"), [("zh-cn", "zh"), ("ja", "ja")])
def test_documentation_chapters_are_kept(suffix, language):
    chapters = sorted(MANUALS.glob(f"ch0[1-4].{suffix}.html"))
    assert chapters, f"install debian-reference-{suffix} (make setup does)"
    for path in chapters:
        doc = _clean(_page(path, f"http://manual.local/{path.name}"), "domain")
        assert doc["language"] == language, path.name
        assert doc["kept"], (path.name, doc["drop_reasons"])
        # Segmented words: whitespace splitting finds a fraction of them (one "word" per phrase).
        assert doc["word_count"] > 1.5 * len(doc["text"].split()), path.name


@pytest.mark.parametrize(("suffix", "language"), [("zh-cn", "zh"), ("ja", "ja")])
def test_a_3600_character_article_passes_size_and_sentence_rules_in_both_profiles(suffix, language):
    doc = _clean(_page(MANUALS / f"ch01.{suffix}.html", "http://manual.local/ch01"), "domain")
    paragraphs = [p for p in doc["text"].split("\n") if len(p) > 40]
    article, total = [], 0
    for p in paragraphs:
        if total >= 3600:
            break
        article.append(p)
        total += len(p)
    text = "\n".join(article)
    assert total >= 3600
    signals = quality_signals(text, language)
    assert signals["word_count"] > 600  # whitespace splitting would find a few dozen "words"
    assert signals["c4_sentence_count"] >= 5
    for profile in ("domain", "web"):
        plain = _clean(_page(Path("article.txt"), "http://x.local/a.txt", text.encode(), "text/plain"), profile)
        assert plain["language"] == language
        assert not SIZE_AND_SENTENCE_REASONS & set(plain["drop_reasons"]), (profile, plain["drop_reasons"])


def test_segmenters_split_words_and_sentences():
    assert words("软件包管理系统是自由的操作系统。", "zh") == ["软件包", "管理系统", "是", "自由", "的", "操作系统"]
    assert "パッケージ" in words("パッケージを管理します。", "ja")
    assert sentence_count("这是第一句。这是第二句！第三句？") == 3
    assert sentence_count("One. Two! Three?") == 3
