"""Planted cases for the later stages: near duplicates, PII, thin and spam pages."""

from __future__ import annotations

import random

from corpusforge.connectors.sample_site.text import Block, _blocks_words, _slugify

_SUBSTITUTES = (
    "system",
    "value",
    "method",
    "often",
    "usually",
    "simple",
    "data",
    "result",
    "object",
    "file",
    "program",
    "really",
    "module",
    "option",
    "different",
    "number",
    "string",
    "common",
    "typical",
    "new",
)
_INSERTIONS = ("also", "really", "quite", "simply", "actually", "generally", "basically", "indeed", "still")


def _make_near_duplicate(blocks: tuple[Block, ...], rate: float, rng: random.Random) -> tuple[tuple[Block, ...], float]:
    """Edit ``rate`` of the body's words (substitute, insert, delete) in paragraphs and list items."""
    segments: list[list[str]] = []
    where: list[tuple[int, int]] = []
    for bi, (kind, value) in enumerate(blocks):
        if kind == "p":
            segments.append(value.split())
            where.append((bi, -1))
        elif kind == "ul":
            for ii, item in enumerate(value):
                segments.append(item.split())
                where.append((bi, ii))
    positions = [(si, wi) for si, seg in enumerate(segments) for wi in range(len(seg))]
    total = _blocks_words(blocks)
    n_edits = max(1, round(rate * total))
    chosen = sorted(rng.sample(positions, min(n_edits, len(positions))), reverse=True)
    for si, wi in chosen:
        seg = segments[si]
        op = rng.random()
        if op < 0.5 or len(seg) < 4:
            replacement = rng.choice(_SUBSTITUTES)
            while replacement == seg[wi].lower():
                replacement = rng.choice(_SUBSTITUTES)
            seg[wi] = replacement
        elif op < 0.75:
            seg.insert(wi, rng.choice(_INSERTIONS))
        else:
            del seg[wi]
    new_blocks = list(blocks)
    items: dict[int, list[str]] = {}
    for (bi, ii), seg in zip(where, segments, strict=True):
        if ii < 0:
            new_blocks[bi] = ("p", " ".join(seg))
        else:
            items.setdefault(bi, list(blocks[bi][1]))[ii] = " ".join(seg)
    for bi, values in items.items():
        new_blocks[bi] = ("ul", tuple(values))
    return tuple(new_blocks), len(chosen) / total


_PII_NAMES = ("Jane Doe", "Max Mustermann", "John Smith", "Erika Musterfrau", "Pierre Dupont", "Ana López")
_PII_PHONES = (
    "+49 30 1234567",
    "+44 20 7946 0958",
    "+1 202 555 0143",
    "+33 1 23 45 67 89",
    "+34 912 345 678",
)
_PII_IPS = ("192.0.2.17", "198.51.100.23", "203.0.113.42", "10.20.30.40")
_PII_CARDS = ("4111 1111 1111 1111", "5555 5555 5555 4444")
_PII_IBANS = ("DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32")


def _pii_paragraphs(index: int, rng: random.Random) -> tuple[list[str], list[dict]]:
    name = _PII_NAMES[index % len(_PII_NAMES)]
    first, last = name.lower().replace("ó", "o").split()
    email = f"{first}.{last}@example.{('com', 'org', 'net')[index % 3]}"
    phone = _PII_PHONES[index % len(_PII_PHONES)]
    ip = _PII_IPS[index % len(_PII_IPS)]
    card = _PII_CARDS[index % len(_PII_CARDS)]
    iban = _PII_IBANS[index % len(_PII_IBANS)]
    paragraphs = [
        f"If you have questions about this article, write to {name} at {email} or call {phone} during office hours.",
    ]
    found = [
        {"type": "email", "value": email},
        {"type": "phone", "value": phone},
    ]
    if index == 0 or rng.random() < 0.6:
        paragraphs.append(f"The examples were tested on our staging server at {ip}, which only staff can reach.")
        found.append({"type": "ip", "value": ip})
    if index == 0 or rng.random() < 0.5:
        paragraphs.append(
            f"To order the printed edition, pay with the card {card} (expiry 12/30) or transfer the "
            f"amount to the account with IBAN {iban}."
        )
        found += [{"type": "credit_card", "value": card}, {"type": "iban", "value": iban}]
    return paragraphs, found


_THIN_TEMPLATES = (
    ("Coming soon: {t}", ["This page about {t} is under construction.", "Please check back later."]),
    ("{t}", ["More information about {t} will be added here soon."]),
    ("Placeholder: {t}", ["There is nothing here yet.", "The article about {t} has not been written."]),
    ("{t} (draft)", ["Draft page for {t}, to be completed by the editors."]),
)
_SPAM_ADJECTIVES = ("cheap", "discount", "luxury", "genuine", "premium", "wholesale", "miracle", "instant")
_SPAM_NOUNS = (
    "watches",
    "pills",
    "handbags",
    "sneakers",
    "casino bonus",
    "crypto profits",
    "weight loss tea",
    "sunglasses",
    "perfume",
    "phone cases",
    "diet drops",
    "gold coins",
    "loans",
    "followers",
)
_SPAM_PLACES = (
    "Berlin",
    "Paris",
    "Madrid",
    "London",
    "Texas",
    "Ohio",
    "Dubai",
    "Sydney",
    "Toronto",
    "Miami",
    "Oslo",
    "Vienna",
    "Rome",
    "Lisbon",
    "Prague",
    "Denver",
    "Boston",
    "Seattle",
    "Dublin",
    "Zurich",
)
_SPAM_SHOUTS = (
    "$$$ BUY NOW!!! {P} $$$ >>> CLICK HERE <<< 100% FREE!!! LIMITED OFFER!!! $$$",
    "!!! {P} !!! ORDER TODAY ### SAVE {N}% ### ONLY {N} LEFT !!! {P} !!!",
    "*** HOT DEAL *** {P} *** {N}% OFF *** ACT FAST *** {P} *** FREE GIFT ***",
    ">>> {P} <<< BEST PRICE GUARANTEED >>> {N} HAPPY CUSTOMERS <<< BUY NOW!!!",
)


def _spam_blocks(index: int, rng: random.Random) -> tuple[str, tuple[Block, ...], str]:
    """Keyword stuffing, repeated shouting lines and link farms; each spam page sells its own product."""
    combos = len(_SPAM_ADJECTIVES) * len(_SPAM_NOUNS) * len(_SPAM_PLACES)
    code = (index * 7919) % combos
    adjective = _SPAM_ADJECTIVES[code % len(_SPAM_ADJECTIVES)]
    noun = _SPAM_NOUNS[(code // len(_SPAM_ADJECTIVES)) % len(_SPAM_NOUNS)]
    place = _SPAM_PLACES[code // (len(_SPAM_ADJECTIVES) * len(_SPAM_NOUNS)) % len(_SPAM_PLACES)]
    product = f"{adjective} {noun} {place}"
    upper = product.upper()
    title = f"BEST {upper} ONLINE – BUY NOW!!!"
    words = [adjective, noun, place.lower(), "best", "buy", "online", "sale", "order", "deal", "free"]
    blocks: list[Block] = []
    for _ in range(rng.randint(6, 10)):
        stuffing = " ".join(rng.choice(words) for _ in range(rng.randint(18, 30)))
        blocks.append(("p", f"{product} {stuffing} {product}!!!"))
        shout = rng.choice(_SPAM_SHOUTS).format(P=upper, N=rng.randint(10, 99))
        blocks.append(("p", shout))
    domain = _slugify(product)
    links = tuple(
        (f"http://{domain}-{n}.example/buy?ref={rng.randint(1000, 9999)}", f"BUY {upper} NOW!!! #{n}")
        for n in range(1, rng.randint(15, 30))
    )
    blocks.append(("links", links))
    known = f"Best {product} online, buy {product} now and save {rng.randint(50, 95)}% today."
    blocks.append(("p", known))
    return title, tuple(blocks), known
