"""Harvest German, French and Spanish prose from Debian's translated manual pages (roff, macros and escapes
stripped)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from corpusforge.connectors.sample_site.prose import _is_prose, _pack_articles
from corpusforge.connectors.sample_site.text import Block, _words

_ROFF_NAMED = {
    "em": "—",
    "en": "–",
    "aq": "'",
    "dq": '"',
    "lq": "“",
    "rq": "”",
    "oq": "‘",
    "cq": "’",
    "Fo": "«",
    "Fc": "»",
    "fo": "‹",
    "fc": "›",
    "Bq": "„",
    "bq": "‚",
    "bu": "•",
    "co": "©",
    "rg": "®",
    "tm": "™",
    "hy": "-",
    "mi": "-",
    "ti": "~",
    "ha": "^",
    "mu": "×",
    "de": "°",
    ">=": "≥",
    "<=": "≤",
    "->": "→",
    "<-": "←",
    "sl": "/",
    "rs": "\\",
    "dg": "†",
    "pl": "+",
    "eq": "=",
    "ga": "`",
    "lh": "☜",
    "rh": "☞",
    "a:": "ä",
    "o:": "ö",
    "u:": "ü",
    "A:": "Ä",
    "O:": "Ö",
    "U:": "Ü",
    "ss": "ß",
    "e'": "é",
    "e`": "è",
    "a`": "à",
    "e^": "ê",
    "c,": "ç",
    "n~": "ñ",
    "a'": "á",
    "i'": "í",
    "o'": "ó",
    "u'": "ú",
    "r!": "¡",
    "r?": "¿",
    "Eu": "€",
    "eu": "€",
    "at": "@",
    "sh": "#",
    "Do": "$",
    "dq;": '"',
}


def _roff_named(match: re.Match[str]) -> str:
    name = match.group(1) or match.group(2)
    if name.startswith("u") and re.fullmatch(r"u[0-9A-Fa-f]{4,5}", name):
        return chr(int(name[1:], 16))
    return _ROFF_NAMED.get(name, "")


_ROFF_SUBS = (
    (re.compile(r"\\[\"#].*$"), ""),
    (re.compile(r"\\f(?:\[[^\]]*\]|\(..|.)"), ""),
    (re.compile(r"\\s(?:[+-]?\d|\[[^\]]*\]|\(..)"), ""),
    (re.compile(r"\\\*(?:\[[^\]]*\]|\(..|.)"), ""),
    (re.compile(r"\\[hvwlLNbDoXZHSRxk]'[^']*'"), ""),
    (re.compile(r"\\n(?:\[[^\]]*\]|\(..|.)"), ""),
    (re.compile(r"\\\((..)|\\\[([^\]]+)\]"), _roff_named),
    (re.compile(r"\\[&|^%c:)dtua{},/]"), ""),
    (re.compile(r"\\[-]"), "-"),
    (re.compile(r"\\[ ~0]"), " "),
    (re.compile(r"\\e"), "\\\\"),
)


def _roff_text(text: str) -> str:
    if "\\" not in text:
        return text
    for pattern, repl in _ROFF_SUBS:
        text = pattern.sub(repl, text)
    return text.replace("\\", "")


def _macro_args(rest: str) -> list[str]:
    return [m.group(1) if m.group(1) is not None else m.group(2) for m in re.finditer(r'"([^"]*)"|(\S+)', rest)]


_SKIP_MAN_SECTIONS = re.compile(
    r"^(SYNOPSIS|ÜBERSICHT|SINOPSIS|RÉSUMÉ|SYNTAX|SIEHE AUCH|VOIR AUSSI|V[ÉE]ASE TAMBI[ÉE]N|VEA TAMBI[ÉE]N|"
    r"[ÜU]BERSETZUNG|TRADUCTION|TRADUCCI[ÓO]N|COPYRIGHT|URHEBERRECHT|DERECHOS DE AUTOR|COLOPHON|KOLOPHON|"
    r"FEHLER MELDEN|REPORTING BUGS|SIGNALER DES BOGUES|INFORMAR DE ERRORES|RAPPORTS DE BOGUES|AUTOR|AUTOREN|"
    r"AUTEURS?|AUTORES|AUTHORS?)\b",
    re.IGNORECASE,
)
_NAME_SECTIONS = re.compile(r"^(NAME|BEZEICHNUNG|NOM|NOMBRE)$", re.IGNORECASE)
_FONT_MACROS = frozenset("B I SM SB".split())
_ALT_MACROS = frozenset("BR IR RB RI BI IB".split())
_BREAK_MACROS = frozenset("PP LP P sp RS RE in IP TP HP ti ne PD ad na nh".split())


def _parse_man_page(path: Path, lang: str) -> list[tuple[str, tuple[Block, ...]]]:
    try:
        with gzip.open(path, "rb") as fh:
            raw = fh.read().decode("utf-8", errors="replace")
    except (OSError, EOFError):
        return []
    if re.search(r"^\.(?:Dd|so)\b", raw, re.MULTILINE):
        return []  # BSD mdoc pages and .so redirections: no plain man(7) prose
    blocks: list[Block] = []
    para: list[str] = []
    items: list[str] = []
    tag_next = False
    tag = ""
    name_line = ""
    in_name = False
    skip_section = False
    skip_until: str | None = None
    th_name = ""

    def flush_para() -> None:
        nonlocal para, tag
        text = " ".join(" ".join(para).split())
        para = []
        if not text:
            tag = ""
            return
        if in_name:
            nonlocal name_line
            name_line = name_line or text
        elif not skip_section:
            if tag:
                item = f"{tag}: {text}" if tag != "•" and _words(tag) <= 6 else text
                if _is_prose(text, lang, 3):
                    items.append(item)
            else:
                flush_items()
                if _is_prose(text, lang, 8):
                    blocks.append(("p", text))
        tag = ""

    def flush_items() -> None:
        nonlocal items
        if len(items) >= 2:
            blocks.append(("ul", tuple(items)))
        elif items and _is_prose(items[0], lang, 8):
            blocks.append(("p", items[0]))
        items = []

    for line in raw.splitlines():
        if skip_until is not None:
            if line.startswith(skip_until) or (skip_until == "\\}" and "\\}" in line):
                skip_until = None
            continue
        if line.startswith(('.\\"', "'\\\"", '.\\"', '\\"')) or line.strip() in (".", "'"):
            continue
        if line.startswith((".", "'")):
            macro_line = line[1:].lstrip()
            po4a = re.match(r"^(?:if|ie)\s+!?'po4a'hide'\s+[.'](.*)$", macro_line)
            if po4a:
                macro_line = po4a.group(1)
            name, _, rest = macro_line.partition(" ")
            rest = rest.strip()
            if name in ("if", "ie", "el", "while"):
                if "\\{" in line:
                    skip_until = "\\}"
                continue
            if name in ("nf", "EX"):
                flush_para()
                skip_until = ".fi" if name == "nf" else ".EE"
                continue
            if name == "TS":
                flush_para()
                skip_until = ".TE"
                continue
            if name in ("de", "ig", "am", "de1"):
                skip_until = ".."
                continue
            if name == "TH":
                args = _macro_args(rest)
                th_name = _roff_text(args[0]) if args else ""
                continue
            if name in ("SH", "SS", "Sh", "Ss"):
                flush_para()
                flush_items()
                heading = " ".join(_roff_text(a) for a in _macro_args(rest)).strip()
                in_name = bool(_NAME_SECTIONS.match(heading))
                skip_section = bool(_SKIP_MAN_SECTIONS.match(heading)) or not heading
                if heading and not in_name and not skip_section:
                    pretty = heading.capitalize() if heading.isupper() else heading
                    blocks.append(("h2" if name in ("SH", "Sh") else "h3", pretty))
                continue
            if name in ("TP",):
                flush_para()
                tag_next = True
                continue
            if name in ("IP", "HP"):
                flush_para()
                args = _macro_args(rest)
                tag = _roff_text(args[0]).strip() if args else ""
                if tag in ("•", "-", "*", "o") or re.fullmatch(r"\d+[.)]?", tag):
                    tag = "•"  # an untagged list item
                continue
            if name in _BREAK_MACROS or name in ("Pp", "Lp"):
                flush_para()
                if name in ("PP", "LP", "P", "Pp", "Lp", "sp") and items and not tag:
                    flush_items()
                continue
            if name == "br":
                continue
            if name in _FONT_MACROS or name in _ALT_MACROS or name in ("UR", "UE", "MT", "ME", "URL"):
                args = _macro_args(rest)
                if name in ("UR", "MT"):
                    continue
                if name in ("UE", "ME"):
                    text = "".join(_roff_text(a) for a in args)
                    if para and text:
                        para[-1] += text
                    continue
                joiner = "" if name in _ALT_MACROS else " "
                text = joiner.join(_roff_text(a) for a in args)
                if tag_next:
                    tag, tag_next = text.strip(), False
                else:
                    para.append(text)
                continue
            continue  # any other request or macro: layout only
        text = _roff_text(line)
        if tag_next:
            tag, tag_next = text.strip(), False
            continue
        para.append(text)
    flush_para()
    flush_items()

    if name_line and re.search(r"\s[-–—]\s", name_line):
        command, desc = re.split(r"\s[-–—]\s", name_line, maxsplit=1)
        desc = desc.strip().rstrip(".")
        title = f"{command.strip()} – {desc[:1].upper()}{desc[1:]}"
    else:
        title = th_name.lower() or path.name.split(".")[0]
    # drop headings that lost all their content
    tidy: list[Block] = []
    for block in blocks:
        if block[0] in ("h2", "h3") and tidy and tidy[-1][0] in ("h2", "h3"):
            if block[0] == "h2" or tidy[-1][0] == "h3":
                tidy.pop()
        tidy.append(block)
    while tidy and tidy[-1][0] in ("h2", "h3"):
        tidy.pop()
    return _pack_articles(" ".join(title.split())[:120], tidy)
