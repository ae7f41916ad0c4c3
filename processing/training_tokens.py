"""Token limits of fine-tuning examples: fitting an example to max_tokens. (The token statistics
per split are counted over the written rows: warehouse.training_parts.)"""

from __future__ import annotations

from corpusforge.processing.training_config import Draft, FormatConfig, Tokens, placeholders


def _count(contents: list[tuple[str, str]], tokens: Tokens) -> int:
    # Contents only: a trainer's chat template adds a few tokens per message on top.
    return sum(tokens.count(content) for _, content in contents)


def fit_to_max_tokens(draft: Draft, cfg: FormatConfig, tokens: Tokens) -> tuple[list, int, bool] | str:
    """(contents, token_count, was_cut) or the drop reason. Cutting shortens only the document
    part, never the question or the human answer."""
    contents = draft.render()
    total = _count(contents, tokens)
    if cfg.max_tokens is None or total <= cfg.max_tokens:
        return contents, total, False
    uses_context = any(draft.context_key in placeholders(tpl) for _, tpl in draft.parts)
    if cfg.max_tokens_action != "cut" or not uses_context:
        return "over_max_tokens"
    context = draft.values[draft.context_key]
    context_tokens = tokens.count(context)
    # Tokenisation at the cut edge can differ by a token or two: shrink until it fits.
    for _ in range(5):
        context_tokens -= total - cfg.max_tokens
        if context_tokens <= 0:
            return "over_max_tokens"
        context = tokens.cut(context, context_tokens)
        draft.values[draft.context_key] = context
        contents = draft.render()
        total = _count(contents, tokens)
        if total <= cfg.max_tokens:
            return contents, total, True
    return "over_max_tokens"
