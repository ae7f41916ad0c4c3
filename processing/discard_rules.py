"""trafilatura's boilerplate rules (`OVERALL_DISCARD_XPATH`) evaluated in Python, with the same result.

Each rule is an XPath over every element of the page: a tag filter and a list of attribute
tests, several of them EXSLT regular expressions (`re:test`). libxml2 calls back into Python for
each `re:test` of each element, attribute or not: on a documentation page, whose highlighted
code is thousands of <span class=...>, these two rules took a quarter of `trafilatura.extract`
(19 ms of 83 a page on Python's docs). Here libxml2 only picks the elements that have an attribute
(no callbacks), and the tests run in Python once per distinct attribute list on the page.

`install()` parses the text of each rule trafilatura ships into those tests and replaces the rule
in trafilatura's list by the parsed one; a rule whose text uses anything else stays as it is, so
a trafilatura release that changes a rule cannot change what is discarded.
tests/clean/test_discard_rules.py checks on real pages that both find the same elements.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml.etree import XPath

Test = Callable[[object], bool]  # an element in, does the test hold?

_LITERAL = r"'(?P<{0}>[^']*)'"
_ATTR = r"@(?P<{0}>[\w-]+)"
_ATTRS = r"(?P<{0}>@[\w-]+(?:\s*\|\s*@[\w-]+)*)"  # a union: its first attribute in source order
_FORMS = {
    "exists": re.compile(_ATTR.format("a") + "$"),
    "equals": re.compile(_ATTR.format("a") + r"\s*=\s*" + _LITERAL.format("lit") + "$"),
    "contains": re.compile(r"contains\(\s*" + _ATTR.format("a") + r"\s*,\s*" + _LITERAL.format("lit") + r"\s*\)$"),
    "contains_translated": re.compile(
        r"contains\(\s*translate\(\s*" + _ATTR.format("a") + r"\s*,\s*" + _LITERAL.format("src") + r"\s*,\s*"
        + _LITERAL.format("dst") + r"\s*\)\s*,\s*" + _LITERAL.format("lit") + r"\s*\)$"
    ),
    "starts_with": re.compile(
        r"starts-with\(\s*" + _ATTRS.format("a") + r"\s*,\s*" + _LITERAL.format("lit") + r"\s*\)$"
    ),
    "regex": re.compile(r"re:test\(\s*" + _ATTRS.format("a") + r"\s*,\s*" + _LITERAL.format("lit") + r"\s*\)$"),
}  # fmt: skip
_RULE = re.compile(r"\.//\*(?:\[(?P<tags>(?:\s*self::[\w-]+\s*(?:or)?)+)\])?\s*\[(?P<tests>.*)\]", re.S)


def _first_value(names: list[str]) -> Callable[[object], str]:
    """XPath's string value of `@a|@b`: the first of these attributes in the element's source
    order ("" when it has none of them)."""
    if len(names) == 1:
        name = names[0]
        return lambda el: el.get(name) or ""

    def first(el) -> str:
        for key, value in el.items():
            if key in names:
                return value
        return ""

    return first


def _translation(src: str, dst: str) -> dict[int, int | None]:
    """XPath's translate(): each character of `src` becomes the one at its place in `dst`, or
    is deleted when `dst` is shorter; a repeated character keeps its first mapping."""
    table: dict[int, int | None] = {}
    for i, ch in enumerate(src):
        table.setdefault(ord(ch), ord(dst[i]) if i < len(dst) else None)
    return table


def _parse_test(text: str) -> tuple[Test, bool] | None:
    """(the test, whether an element without attributes could pass it), or None when the text is
    not one of the forms above."""
    for form, pattern in _FORMS.items():
        if (m := pattern.match(text.strip())) is not None:
            return _build_test(form, m.groupdict())
    return None


def _build_test(form: str, groups: dict[str, str]) -> tuple[Test, bool]:
    lit = groups.get("lit") or ""
    if form == "exists":
        name = groups["a"]
        return (lambda el: el.get(name) is not None), False
    if form == "equals":
        name = groups["a"]
        return (lambda el: el.get(name) == lit), False
    if form == "contains":
        name = groups["a"]
        return (lambda el: lit in (el.get(name) or "")), lit == ""
    if form == "contains_translated":
        name, table = groups["a"], _translation(groups["src"], groups["dst"])
        return (lambda el: lit in (el.get(name) or "").translate(table)), lit == ""
    value = _first_value([a.strip().lstrip("@") for a in groups["a"].split("|")])
    if form == "starts_with":
        return (lambda el: value(el).startswith(lit)), lit == ""
    regex = re.compile(lit, re.UNICODE)  # as lxml's EXSLT re:test compiles it
    return (lambda el: regex.search(value(el)) is not None), regex.search("") is not None


def _split_or(text: str) -> list[str]:
    """The operands of a top-level `or` list (not inside quotes or parentheses)."""
    parts, depth, quoted, start = [], 0, False, 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and re.match(r"\sor\s", text[i : i + 4]):
            parts.append(text[start:i])
            start = i + 4
            i += 3
        i += 1
    parts.append(text[start:])
    return parts


class AttributeRule:
    """A parsed rule, called like the XPath it replaces: the matching elements in document order."""

    def __init__(self, source: str, tags: list[str], tests: list[Test], empty_may_match: bool):
        self.path = source  # trafilatura and its users only read the text of a rule
        self.tests = tests
        tag_filter = f"[{' or '.join(f'self::{t}' for t in tags)}]" if tags else ""
        # libxml2 keeps the elements with any attribute; a test that an element without any
        # could pass (an empty literal or pattern) needs them all.
        self._candidates = XPath(f".//*{tag_filter}" + ("" if empty_may_match else "[@*]"))

    def __call__(self, tree) -> list:
        # The tests read attributes only, so elements with the same attributes (in the same
        # order) get the same verdict: a page's thousands of <span class="n"> are tested once.
        tests, verdicts, out = self.tests, {}, []
        for el in self._candidates(tree):
            key = tuple(el.items())
            verdict = verdicts.get(key)
            if verdict is None:
                verdict = verdicts[key] = any(test(el) for test in tests)
            if verdict:
                out.append(el)
        return out

    @classmethod
    def parse(cls, source: str) -> AttributeRule | None:
        m = _RULE.fullmatch(source.strip())
        if m is None:
            return None
        tags = re.findall(r"self::([\w-]+)", m.group("tags") or "")
        parsed = [_parse_test(part) for part in _split_or(m.group("tests"))]
        if not parsed or any(p is None for p in parsed):
            return None
        return cls(source, tags, [test for test, _ in parsed], any(empty for _, empty in parsed))


def install() -> int:
    """Replace the rules of trafilatura's `OVERALL_DISCARD_XPATH` whose text parses (in place: its
    extractors hold the same list); how many were replaced."""
    from trafilatura import xpaths

    rules = getattr(xpaths, "OVERALL_DISCARD_XPATH", None)
    if not isinstance(rules, list):  # another trafilatura: its rules stay as they are
        return 0
    replaced = 0
    for i, rule in enumerate(rules):
        if isinstance(rule, XPath) and (parsed := AttributeRule.parse(rule.path)) is not None:
            rules[i] = parsed
            replaced += 1
    return replaced
