"""Structure-aware chunking of documents for retrieval.

A document comes with two renderings of the same content: `text` (what the exports publish,
PII redacted) and `markdown` (the same text with its headings marked). The markdown supplies the
structure, the text supplies the characters: each markdown heading is located as a line of the
text, which cuts the text into sections, and every section is split with semchunk (paragraphs,
then sentences, then words; never inside a word unless one word alone exceeds the budget) to a
token budget counted by the embedding model's own tokenizer. A chunk is therefore always a slice
of the document text, `text[char_start:char_end] == chunk.text`, so offsets can be trusted by
anything that highlights or cites the source.

Pure: strings and a token-counting callable in, chunk records out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field

import semchunk

from corpusforge.processing.ids import sha256_hex

CHUNKER_VERSION = "headings-semchunk/1"
HEADING_SEPARATOR = " > "

TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class ChunkerConfig:
    """Everything that changes how a document is cut; its hash is part of every chunk_id, so a
    change re-chunks (and re-embeds what changed) automatically."""

    chunk_tokens: int = 256
    overlap_tokens: int = 0
    # Token counts depend on the tokenizer, so its identity (the model id) is part of the config.
    tokenizer_id: str = ""
    # Embed each chunk with its document's title as a first line: a passage rarely names its
    # page's subject, and "which page is about X" is the most common question an index gets.
    title_prefix: bool = True
    version: str = CHUNKER_VERSION

    def __post_init__(self) -> None:
        if self.chunk_tokens < 1:
            raise ValueError(f"chunk_tokens must be at least 1, got {self.chunk_tokens}")
        if not 0 <= self.overlap_tokens < self.chunk_tokens:
            raise ValueError(
                f"overlap_tokens must be >= 0 and below chunk_tokens ({self.chunk_tokens}), got {self.overlap_tokens}"
            )

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def config_hash(self) -> str:
        return sha256_hex(json.dumps(self.to_dict(), sort_keys=True))[:16]


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    position: int
    heading_path: str
    char_start: int
    char_end: int
    text: str  # == document text[char_start:char_end]
    embed_text: str  # what the model embeds: the title line (when used) and the text
    text_hash: str  # SHA-256 of embed_text: with the model id, the key of the embedding cache
    token_count: int  # tokens of embed_text, never above the budget


@dataclass(frozen=True)
class Section:
    """A run of the document text under one heading path: [start, end) in the text."""

    start: int
    end: int
    heading_path: str
    headings: tuple[str, ...] = field(default=())


# ---- markdown headings ------------------------------------------------------------------------
_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_IMAGE_OR_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_INLINE_CODE = re.compile(r"`+([^`]*)`+")
_EMPHASIS = re.compile(r"(?<!\\)(\*{1,3}|_{1,3})")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~<])")
_SPACES = re.compile(r"\s+")


def plain_inline(markdown_line: str) -> str:
    """The text a markdown inline run displays: links and code unwrapped, emphasis markers and
    backslash escapes removed, whitespace collapsed."""
    text = _IMAGE_OR_LINK.sub(r"\1", markdown_line)
    text = _INLINE_CODE.sub(r"\1", text)
    text = _EMPHASIS.sub("", text)
    text = _ESCAPE.sub(r"\1", text)
    return _SPACES.sub(" ", text).strip()


def markdown_headings(markdown: str) -> list[tuple[int, str]]:
    """(level, plain heading text) of every ATX heading outside fenced code blocks, in order."""
    headings: list[tuple[int, str]] = []
    in_fence: str | None = None
    for line in markdown.splitlines():
        fence = _FENCE.match(line)
        if fence:
            in_fence = None if in_fence == fence.group(1) else (in_fence or fence.group(1))
            continue
        if in_fence:
            continue
        match = _ATX_HEADING.match(line)
        if match:
            title = plain_inline(match.group(2))
            if title:
                headings.append((len(match.group(1)), title))
    return headings


# ---- sections of the text --------------------------------------------------------------------
def _lines_with_offsets(text: str) -> list[tuple[int, int, str]]:
    """(start, end, displayed content) of every line of the text: whitespace collapsed, and a
    markdown heading line reduced to its heading (the text may itself be markdown)."""
    out, pos = [], 0
    for line in text.splitlines(keepends=True):
        heading = _ATX_HEADING.match(line.rstrip("\r\n"))
        shown = plain_inline(heading.group(2)) if heading else _SPACES.sub(" ", line).strip()
        out.append((pos, pos + len(line), shown))
        pos += len(line)
    return out


def _find_heading_line(lines: list[tuple[int, int, str]], title: str, first: int) -> int | None:
    """Index of the first line at or after `first` that shows the heading (exactly, else
    ignoring case); None when the text does not contain it (e.g. the cleaner dropped it)."""
    folded = title.casefold()
    for i in range(first, len(lines)):
        if lines[i][2] == title or lines[i][2].casefold() == folded:
            return i
    return None


def text_sections(text: str, headings: list[tuple[int, str]]) -> list[Section]:
    """Cut the text at the lines where the markdown's headings appear.

    Headings are matched in order; one that cannot be found in the text is left out (its content
    stays with the section before it). A heading with no body of its own (directly followed by a
    sub-heading) is merged into the next section, so a heading line never becomes a chunk alone
    and stays attached to the content it introduces.
    """
    lines = _lines_with_offsets(text)
    starts: list[tuple[int, int, tuple[str, ...]]] = []  # (char start, body start, heading stack)
    stack: list[tuple[int, str]] = []
    cursor = 0
    for level, title in headings:
        idx = _find_heading_line(lines, title, cursor)
        if idx is None:
            continue
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        starts.append((lines[idx][0], lines[idx][1], tuple(t for _, t in stack)))
        cursor = idx + 1
    sections: list[Section] = []
    if not starts or text[: starts[0][0]].strip():
        first_end = starts[0][0] if starts else len(text)
        sections.append(Section(0, first_end, ""))
    pending_start: int | None = None
    for i, (start, body_start, path) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        begin = start if pending_start is None else pending_start
        if not text[body_start:end].strip() and i + 1 < len(starts):
            pending_start = begin
            continue
        pending_start = None
        sections.append(Section(begin, end, HEADING_SEPARATOR.join(path), path))
    return [s for s in sections if text[s.start : s.end].strip()]


# ---- chunks ---------------------------------------------------------------------------------
def _split_section(
    text: str, section: Section, budget: int, overlap: int, count_tokens: TokenCounter
) -> list[tuple[int, int]]:
    piece = text[section.start : section.end]
    _, offsets = semchunk.chunk(
        piece, chunk_size=budget, token_counter=count_tokens, offsets=True, overlap=overlap or None, memoize=False
    )
    spans = [(section.start + s, section.start + e) for s, e in offsets]
    if overlap:
        # Overlapping merges join sub-chunks; a join may tokenize one token longer than its parts,
        # so any span over budget is cut again without overlap (the budget is a hard limit).
        checked: list[tuple[int, int]] = []
        for s, e in spans:
            if count_tokens(text[s:e]) <= budget:
                checked.append((s, e))
            else:
                checked.extend(_split_section(text, Section(s, e, section.heading_path), budget, 0, count_tokens))
        spans = checked
    return spans


def chunk_id_for(doc_id: str, text_hash: str, config_hash: str, occurrence: int = 0) -> str:
    """Content-addressed chunk id: the chunk's text and the chunker config, within its document.

    The doc_id is included so that two documents sharing a passage still give two rows an index
    can tell apart (and delete separately); `occurrence` separates a passage repeated inside one
    document.
    """
    key = f"{doc_id}\x1f{text_hash}\x1f{config_hash}" + (f"\x1f{occurrence}" if occurrence else "")
    return sha256_hex(key)[:32]


def _title_line(title: str | None, config: ChunkerConfig, count_tokens: TokenCounter) -> tuple[str, int]:
    """The line put before each chunk of the document and its token cost; none when the title
    would take more than a quarter of the budget (the passage matters more than its label)."""
    if not config.title_prefix or not title or not title.strip():
        return "", 0
    line = _SPACES.sub(" ", title).strip() + "\n"
    cost = count_tokens(line)
    return (line, cost) if cost <= config.chunk_tokens // 4 else ("", 0)


def chunk_document(
    doc_id: str,
    title: str | None,
    text: str | None,
    markdown: str | None,
    count_tokens: TokenCounter,
    config: ChunkerConfig,
) -> list[Chunk]:
    """Chunks of one document, in reading order. Headings come from `markdown`; the chunks
    are slices of `text` (when a document has no text, its markdown is the text)."""
    body = text if text else (markdown or "")
    if not body.strip():
        return []
    sections = text_sections(body, markdown_headings(markdown or ""))
    prefix, prefix_tokens = _title_line(title, config, count_tokens)
    budget = config.chunk_tokens - prefix_tokens
    overlap = min(config.overlap_tokens, budget - 1)
    config_hash = config.config_hash
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for section in sections:
        for start, end in _split_section(body, section, budget, overlap, count_tokens):
            piece = body[start:end]
            embed_text = prefix + piece
            piece_hash = sha256_hex(piece)
            occurrence = seen.get(piece_hash, 0)
            seen[piece_hash] = occurrence + 1
            chunks.append(
                Chunk(
                    chunk_id=chunk_id_for(doc_id, piece_hash, config_hash, occurrence),
                    position=len(chunks),
                    heading_path=section.heading_path,
                    char_start=start,
                    char_end=end,
                    text=piece,
                    embed_text=embed_text,
                    text_hash=sha256_hex(embed_text),
                    token_count=count_tokens(embed_text),
                )
            )
    return chunks


# Document fields copied onto each of its chunks (lineage and filters for the index).
DOC_FIELDS_ON_CHUNK = ("doc_id", "content_hash", "url", "title", "language", "fetched_at")


def chunk_records(docs: Iterable[dict], count_tokens: TokenCounter, config: ChunkerConfig) -> Iterator[dict]:
    """Chunk rows for documents given as dicts with doc_id, title, text, markdown and the
    DOC_FIELDS_ON_CHUNK: the `chunks` table's columns (without embedding) plus `embed_text`."""
    config_hash = config.config_hash
    for doc in docs:
        chunks = chunk_document(
            doc["doc_id"], doc.get("title"), doc.get("text"), doc.get("markdown"), count_tokens, config
        )
        for chunk in chunks:
            row = {name: doc.get(name) for name in DOC_FIELDS_ON_CHUNK}
            row.update(asdict(chunk))
            row["chunker_config_hash"] = config_hash
            yield row
