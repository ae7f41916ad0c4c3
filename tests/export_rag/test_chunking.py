"""Chunking: structure first, the model's own tokenizer for the budget, exact offsets."""

from __future__ import annotations

import re

import pytest

from corpusforge.processing.chunking import (
    ChunkerConfig,
    chunk_document,
    markdown_headings,
    plain_inline,
    text_sections,
)

PARAGRAPH = (
    "The package manager resolves every dependency before it installs anything, so a failed "
    "download never leaves a half-installed tree behind. Mirrors are tried in the order given. "
)

MARKDOWN = f"""# Install

## On Linux

{PARAGRAPH * 2}

{PARAGRAPH * 9}

## On Windows

Run the **installer** and follow its steps. The `setup.exe` file is signed.

### Troubleshooting

{PARAGRAPH * 3}

# Usage

Call the [main command](https://example.org) with a file name.
"""

# What the cleaner's text looks like for the same page: one line per block, no markup.
TEXT = f"""Install
On Linux
{PARAGRAPH * 2}
{PARAGRAPH * 9}
On Windows
Run the installer and follow its steps. The setup.exe file is signed.
Troubleshooting
{PARAGRAPH * 3}
Usage
Call the main command with a file name."""

HEADING_LINES = {"Install", "On Linux", "On Windows", "Troubleshooting", "Usage"}


@pytest.fixture(scope="module")
def count_tokens(embedder):
    return embedder.count_tokens


def _config(embedder, tokens: int = 64, overlap: int = 0) -> ChunkerConfig:
    return ChunkerConfig(chunk_tokens=tokens, overlap_tokens=overlap, tokenizer_id=embedder.model_id)


def _assert_sound(text: str, chunks, budget: int, count_tokens) -> None:
    for c in chunks:
        assert text[c.char_start : c.char_end] == c.text, "offsets must point at the chunk's text"
        assert count_tokens(c.embed_text) == c.token_count <= budget, "budget counted by the model's tokenizer"
        # Never inside a word: a chunk starts and ends at the text's edges or next to whitespace.
        assert c.char_start == 0 or not (text[c.char_start - 1].isalnum() and text[c.char_start].isalnum())
        assert c.char_end == len(text) or not (text[c.char_end - 1].isalnum() and text[c.char_end].isalnum())


def test_markdown_headings_are_plain_text():
    assert markdown_headings(MARKDOWN) == [
        (1, "Install"),
        (2, "On Linux"),
        (2, "On Windows"),
        (3, "Troubleshooting"),
        (1, "Usage"),
    ]
    assert plain_inline(r"Using \*\*kwargs in [calls](http://x) and `code`") == "Using **kwargs in calls and code"
    # A '#' line inside a fenced code block is code, not a heading.
    assert markdown_headings("```\n# not a heading\n```\n## Real") == [(2, "Real")]


def test_sections_follow_headings_and_keep_a_bare_heading_with_its_child():
    sections = text_sections(TEXT, markdown_headings(MARKDOWN))
    assert [s.heading_path for s in sections] == [
        "Install > On Linux",
        "Install > On Windows",
        "Install > On Windows > Troubleshooting",
        "Usage",
    ]
    # "Install" has no body of its own: its line opens the first section rather than being a chunk.
    assert TEXT[sections[0].start :].startswith("Install\nOn Linux\n")


def test_chunks_respect_headings_and_never_exceed_the_budget(embedder, count_tokens):
    config = _config(embedder, tokens=64)
    chunks = chunk_document("doc-1", "Package manual", TEXT, MARKDOWN, count_tokens, config)
    assert len(chunks) > 5
    _assert_sound(TEXT, chunks, 64, count_tokens)
    for c in chunks:
        # No chunk crosses a heading: a heading line may only open a chunk.
        inner_lines = c.text.splitlines()[1:]
        assert not HEADING_LINES.intersection(inner_lines[:-1] if c.text.endswith("\n") else inner_lines) or (
            c.text.startswith("Install\nOn Linux")
        ), c.text
        last_heading = c.heading_path.split(" > ")[-1]
        section_start = TEXT.index(last_heading + "\n")
        next_heading = min(
            [TEXT.index(h + "\n", section_start + 1) for h in HEADING_LINES if h + "\n" in TEXT[section_start + 1 :]]
            + [len(TEXT)]
        )
        assert c.char_start >= TEXT.index("Install") and c.char_end <= next_heading
    paths = [c.heading_path for c in chunks]
    assert paths == sorted(
        paths,
        key=["Install > On Linux", "Install > On Windows", "Install > On Windows > Troubleshooting", "Usage"].index,
    )
    assert [c.position for c in chunks] == list(range(len(chunks)))
    # The title line goes into what is embedded, not into the chunk's text.
    assert all(c.embed_text == "Package manual\n" + c.text for c in chunks)


def test_overlap_repeats_text_and_keeps_the_budget(embedder, count_tokens):
    config = _config(embedder, tokens=64, overlap=16)
    chunks = chunk_document("doc-1", "Package manual", TEXT, MARKDOWN, count_tokens, config)
    _assert_sound(TEXT, chunks, 64, count_tokens)
    same_section = [(a, b) for a, b in zip(chunks, chunks[1:], strict=False) if a.heading_path == b.heading_path]
    assert any(b.char_start < a.char_end for a, b in same_section), "consecutive chunks overlap"


def test_chunk_ids_depend_on_text_and_config(embedder, count_tokens):
    a = chunk_document("doc-1", "T", TEXT, MARKDOWN, count_tokens, _config(embedder, 64))
    b = chunk_document("doc-1", "T", TEXT, MARKDOWN, count_tokens, _config(embedder, 64))
    c = chunk_document("doc-1", "T", TEXT, MARKDOWN, count_tokens, _config(embedder, 48))
    assert [x.chunk_id for x in a] == [x.chunk_id for x in b]
    assert not {x.chunk_id for x in a} & {x.chunk_id for x in c}
    assert len({x.chunk_id for x in a}) == len(a)


def test_sample_site_documents(rag_documents, embedder, count_tokens):
    """Real pages: every chunk is a slice of the document text within the model's budget."""
    config = _config(embedder, tokens=embedder.max_tokens)
    total = 0
    for doc in rag_documents:
        chunks = chunk_document(doc["doc_id"], doc["title"], doc["text"], doc["markdown"], count_tokens, config)
        assert chunks, doc["url"]
        _assert_sound(doc["text"], chunks, embedder.max_tokens, count_tokens)
        # The chunks cover the text: nothing but whitespace is left between them.
        covered = re.sub(r"\s", "", "".join(c.text for c in chunks))
        assert covered == re.sub(r"\s", "", doc["text"])
        total += len(chunks)
    assert total >= len(rag_documents)


def test_empty_and_markdown_only_documents(embedder, count_tokens):
    config = _config(embedder, 64)
    assert chunk_document("d", "T", "", "", count_tokens, config) == []
    only_md = chunk_document("d", None, None, "## Intro\n\nHello there.", count_tokens, config)
    assert [(c.heading_path, c.text) for c in only_md] == [("Intro", "## Intro\n\nHello there.")]


def test_bad_config_is_one_clear_error():
    with pytest.raises(ValueError, match="overlap_tokens must be >= 0 and below chunk_tokens"):
        ChunkerConfig(chunk_tokens=32, overlap_tokens=32)
