"""Harvest English prose from the Python documentation sources (reST) and the standard library's docstrings (read
with ``ast``: nothing is imported, so no module runs any code)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from corpusforge.connectors.sample_site.prose import _is_prose, _pack_articles
from corpusforge.connectors.sample_site.text import Block, _words

_ROLE = re.compile(r":[A-Za-z0-9_.+-]+(?::[A-Za-z0-9_.+-]+)*:`([^`]+)`")
_LITERAL = re.compile(r"``(.+?)``")
_LINK = re.compile(r"`([^`<]+?)\s*(?:<[^>`]*>)?`__?")
_DEFAULT_ROLE = re.compile(r"`([^`]+)`")
_STRONG = re.compile(r"\*\*(\S(?:.*?\S)?)\*\*")
_EMPH = re.compile(r"(?<![\w*])\*(\S(?:[^*]*?\S)?)\*(?![\w*])")
_FOOTNOTE = re.compile(r"\s*\[(?:#\w*|\d+|\*)\]_")
_SUBST = re.compile(r"\|(\w[\w -]*)\|")
_REF_UNDERSCORE = re.compile(r"(?<=\s)(\w+)_(?=[\s.,;:)]|$)")


def _role_text(match: re.Match[str]) -> str:
    inner = match.group(1).strip()
    if inner.endswith(">") and "<" in inner:
        label = inner[: inner.rfind("<")].strip()
        inner = label or inner[inner.rfind("<") + 1 : -1]
    if inner.startswith("!"):
        inner = inner[1:]
    if inner.startswith("~"):
        inner = inner[1:].rsplit(".", 1)[-1]
    return inner


def _clean_inline(text: str) -> str:
    if "`" in text:
        text = _ROLE.sub(_role_text, text)
        text = _LITERAL.sub(r"\1", text)
        text = _LINK.sub(r"\1", text)
        text = _DEFAULT_ROLE.sub(r"\1", text)
    if "*" in text:
        text = _STRONG.sub(r"\1", text)
        text = _EMPH.sub(r"\1", text)
    if "]_" in text:
        text = _FOOTNOTE.sub("", text)
    if "|" in text:
        text = _SUBST.sub(r"\1", text)
    if "_" in text:
        text = _REF_UNDERSCORE.sub(r"\1", text)
    if "\\" in text:
        text = text.replace("\\ ", "").replace("\\*", "*").replace("\\", "")
    return " ".join(text.split())


_ADORN = re.compile(r"^([=\-~^\"'*+#`:._])\1{2,}\s*$")
_DIRECTIVE = re.compile(r"^\.\.\s+([\w:-]+)::\s*(.*)$")
_BULLET = re.compile(r"^(?:[*+\-•]|#\.|\d+[.)])\s+(.*)$")
_SIGNATURE_DIRECTIVES = frozenset(
    "function method class exception attribute data decorator decoratormethod classmethod staticmethod "
    "coroutinefunction coroutinemethod abstractmethod awaitablefunction awaitablemethod opcode cmdoption "
    "option envvar describe pdbcommand property".split()
)
_ADMONITIONS = frozenset(
    "note warning important tip hint caution attention admonition seealso impl-detail sidebar topic".split()
)
_VERSION_NOTES = {"versionadded": "New in version", "versionchanged": "Changed in version"}


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _dedent(lines: list[str]) -> list[str]:
    indents = [_indent(x) for x in lines if x.strip()]
    cut = min(indents) if indents else 0
    return [x[cut:] if x.strip() else "" for x in lines]


def _rst_blocks(lines: list[str], levels: dict, top: bool) -> list[tuple]:
    """Parse reST lines into ("heading", level, text), ("p", text) and ("ul", items) blocks."""
    out: list[tuple] = []
    i, n = 0, len(lines)
    literal_pending = False
    while i < n:
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            i += 1
            continue
        indent = _indent(line)
        if indent > 0:
            j = i
            while j < n and (not lines[j].strip() or _indent(lines[j]) > 0):
                j += 1
            if not literal_pending:
                out.extend(_rst_blocks(_dedent(lines[i:j]), levels, top=False))
            literal_pending = False
            i = j
            continue
        literal_pending = False
        if top and _ADORN.match(line) and i + 2 < n and lines[i + 1].strip() and _ADORN.match(lines[i + 2]):
            key = (stripped[0], True)
            out.append(("heading", levels.setdefault(key, len(levels) + 1), lines[i + 1].strip()))
            i += 3
            continue
        if (
            i + 1 < n
            and _ADORN.match(lines[i + 1])
            and not _ADORN.match(line)
            and len(lines[i + 1].strip()) >= len(stripped)
        ):
            if top:
                key = (lines[i + 1].strip()[0], False)
                out.append(("heading", levels.setdefault(key, len(levels) + 1), stripped))
            i += 2
            continue
        if _ADORN.match(line) or stripped[0] in "+|" or re.match(r"^=+(\s+=+)+\s*$", stripped):
            # transitions, grid tables and simple tables
            while i < n and lines[i].strip():
                i += 1
            continue
        if stripped.startswith(">>>") or stripped.startswith(":"):
            i += 1
            while i < n and lines[i].strip() and (_indent(lines[i]) > 0 or stripped.startswith(">>>")):
                i += 1
            continue
        if stripped.startswith(".."):
            j = i + 1
            while j < n and (not lines[j].strip() or _indent(lines[j]) > 0):
                j += 1
            match = _DIRECTIVE.match(stripped)
            if match:
                out.extend(_rst_directive(match.group(1), match.group(2), lines[i + 1 : j], levels))
            i = j
            continue
        bullet = _BULLET.match(stripped)
        if bullet:
            items: list[str] = []
            while i < n:
                current = lines[i]
                if not current.strip():
                    k = i
                    while k < n and not lines[k].strip():
                        k += 1
                    if k < n and _indent(lines[k]) == 0 and _BULLET.match(lines[k].strip()):
                        i = k
                        continue
                    break
                bullet = _BULLET.match(current.strip()) if _indent(current) == 0 else None
                if bullet:
                    items.append(bullet.group(1))
                elif _indent(current) > 0 and items:
                    items[-1] += " " + current.strip()
                else:
                    break
                i += 1
            cleaned = [_clean_inline(x) for x in items]
            cleaned = [x for x in cleaned if _is_prose(x, "en", 3)]
            if len(cleaned) >= 2:
                out.append(("ul", tuple(cleaned)))
            continue
        para = [stripped]
        i += 1
        while i < n and lines[i].strip() and _indent(lines[i]) == 0:
            nxt = lines[i].strip()
            if nxt.startswith("..") or (i + 1 < n and _ADORN.match(lines[i + 1])):
                break
            para.append(nxt)
            i += 1
        text = " ".join(para)
        if text.endswith("::"):
            literal_pending = True
            text = text[:-2].rstrip()
            text = text + ":" if text and not para[-1].endswith(" ::") else text
        cleaned = _clean_inline(text)
        if _is_prose(cleaned, "en", 8):
            out.append(("p", cleaned))
    return out


def _rst_directive(name: str, arg: str, content: list[str], levels: dict) -> list[tuple]:
    body = _dedent(content)
    header_end = 0
    while header_end < len(body) and body[header_end].strip():
        header_end += 1
    if name in _SIGNATURE_DIRECTIVES:
        signature = _clean_inline(arg)
        blocks = _rst_blocks(body[header_end:], levels, top=False)
        if not signature or not blocks:
            return blocks
        return [("heading", 9, signature), *blocks]
    if name in _ADMONITIONS:
        lines = ([arg] if arg and name not in ("admonition", "sidebar", "topic") else []) + [
            x for x in body if not x.strip().startswith(":")
        ]
        return _rst_blocks(lines, levels, top=False)
    if name in _VERSION_NOTES:
        version, _, rest = arg.partition(" ")
        text = " ".join([rest.strip()] + [x.strip() for x in body if x.strip()])
        cleaned = _clean_inline(f"{_VERSION_NOTES[name]} {version}: {text}") if text else ""
        return [("p", cleaned)] if cleaned and _is_prose(cleaned, "en", 8) else []
    return []


def _headings_to_blocks(raw: list[tuple]) -> tuple[str, list[Block]]:
    title = ""
    blocks: list[Block] = []
    for item in raw:
        if item[0] != "heading":
            blocks.append(item)
            continue
        level, text = item[1], _clean_inline(item[2])
        if not text:
            continue
        if not title and level == 1:
            title = text
        elif level <= 2:
            blocks.append(("h2", text))
        else:
            blocks.append(("h3", text))
    return title, blocks


def _clean_title(title: str) -> str:
    title = title.replace(" --- ", " — ").replace(" -- ", " — ")
    return " ".join(title.split()).strip(" .:")


def _parse_rst_file(path: Path) -> list[tuple[str, tuple[Block, ...]]]:
    text = path.read_text(encoding="utf-8", errors="replace").expandtabs(8)
    title, blocks = _headings_to_blocks(_rst_blocks(text.splitlines(), {}, top=True))
    title = _clean_title(title) or path.name.split(".")[0].replace("_", " ").capitalize()
    return _pack_articles(title, blocks)


def _docstring_blocks(doc: str) -> list[Block]:
    blocks: list[Block] = []
    for raw in re.split(r"\n\s*\n", doc):
        lines = [x.rstrip() for x in raw.splitlines() if x.strip()]
        if not lines or lines[0].lstrip().startswith(">>>"):
            continue
        if all(_BULLET.match(x.strip()) or _indent(x) > _indent(lines[0]) for x in lines) and _BULLET.match(
            lines[0].strip()
        ):
            items: list[str] = []
            for x in lines:
                bullet = _BULLET.match(x.strip())
                if bullet and _indent(x) <= _indent(lines[0]):
                    items.append(bullet.group(1))
                elif items:
                    items[-1] += " " + x.strip()
            cleaned = [_clean_inline(x) for x in items]
            cleaned = [x for x in cleaned if _is_prose(x, "en", 3)]
            if len(cleaned) >= 2:
                blocks.append(("ul", tuple(cleaned)))
            continue
        head = [x for x in lines if _indent(x) == _indent(lines[0])]
        if len(head) != len(lines):
            # "Arguments:" followed by indented "name -- description" lines
            items = []
            for x in lines[1:]:
                match = re.match(r"^\s+(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*(?:--|:|-)\s+(.+)$", x)
                if match:
                    items.append(f"{match.group(1)}: {match.group(2)}")
                elif items and _indent(x) > 0:
                    items[-1] += " " + x.strip()
                else:
                    items = []
                    break
            first = _clean_inline(lines[0].strip())
            if _is_prose(first, "en", 8):
                blocks.append(("p", first))
            cleaned = [_clean_inline(x) for x in items]
            cleaned = [x for x in cleaned if _is_prose(x, "en", 3)]
            if len(cleaned) >= 2:
                blocks.append(("ul", tuple(cleaned)))
            continue
        text = _clean_inline(" ".join(x.strip() for x in lines))
        if text.endswith("::"):
            text = text[:-1]
        if _is_prose(text, "en", 8):
            blocks.append(("p", text))
    return blocks


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    args = [a.arg for a in (*node.args.posonlyargs, *node.args.args) if a.arg not in ("self", "cls")]
    if node.args.vararg:
        args.append("*" + node.args.vararg.arg)
    args.extend(a.arg for a in node.args.kwonlyargs)
    if node.args.kwarg:
        args.append("**" + node.args.kwarg.arg)
    return ", ".join(args)


def _parse_python_module(path: Path, modname: str) -> list[tuple[str, tuple[Block, ...]]]:
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError):
        return []
    doc = ast.get_docstring(tree) or ""
    summary = _clean_inline(doc.strip().split("\n\n")[0]) if doc else ""
    if summary and 2 <= _words(summary) <= 12 and not re.search(r"([=\-~^*#])\1\1", summary):
        title = f"{modname}: {summary.rstrip('.')}"
    else:
        title = f"The {modname} module"
    blocks: list[Block] = _docstring_blocks(doc) if doc else []
    functions: list[tuple[str, str, list[Block]]] = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            class_doc = ast.get_docstring(node)
            body = _docstring_blocks(class_doc) if class_doc else []
            for member in node.body:
                if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)) and not member.name.startswith("_"):
                    member_doc = ast.get_docstring(member)
                    member_blocks = _docstring_blocks(member_doc) if member_doc else []
                    if member_blocks:
                        body.append(("h3", f"{node.name}.{member.name}({_signature(member)})"))
                        body.extend(member_blocks)
            if body:
                blocks.append(("h2", f"The {node.name} class"))
                blocks.extend(body)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            fn_doc = ast.get_docstring(node)
            fn_blocks = _docstring_blocks(fn_doc) if fn_doc else []
            if fn_blocks:
                functions.append((node.name, _signature(node), fn_blocks))
    if functions:
        blocks.append(("h2", "Functions"))
        if len(functions) >= 3:
            rows = tuple((name, sig or "none") for name, sig, _ in functions)
            blocks.append(("table", (("Function", "Parameters"), rows)))
        for name, sig, fn_blocks in functions:
            blocks.append(("h3", f"{name}({sig})"))
            blocks.extend(fn_blocks)
    return _pack_articles(title, blocks)
