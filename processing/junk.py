"""Junk detectors the pretraining rules lack: each a pure function from a document's segments
to one signal, read by one rule in `processing.quality` with a stable reason code.

They target pages a documentation or knowledge-base crawl really meets: error pages served
with 200 (soft 404s), consent / JavaScript / login walls, link lists and directories, tag
clouds, filler, keyword stuffing, gibberish, price lists, "coming soon" stubs. Each phrase
detector only fires on short pages: a long article *about* cookies or HTTP errors is content.
Phrases cover English, German, French, Spanish, Chinese and Japanese.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections import Counter

from corpusforge.processing.phrases import PhraseSet
from corpusforge.processing.segment import WORD_PUNCTUATION, Segments, tokens

# A page longer than this many prose words is content even if it mentions a wall or an error.
SHORT_PAGE_WORDS = 400
_OPENING_CHARS = 400


def _phrases(*patterns: str) -> PhraseSet:
    return PhraseSet(*patterns)


ERROR_PAGE = _phrases(
    r"\b(?:page|file|article|document|resource|post)s? (?:was |could )?not (?:be )?found\b",
    r"\b404\b",
    r"\b50[0-4]\b.{0,40}\berror\b",
    r"\binternal server error\b",
    r"\bservice (?:temporarily )?unavailable\b",
    r"\bsomething went wrong\b",
    r"\ban? (?:unexpected )?error (?:has )?occurred\b",
    r"\bthis page (?:does not|doesn't|no longer) exists?\b",
    r"\b(?:we|you) (?:couldn't|could not|can't|cannot) find (?:the|that|this) page\b",
    r"\bseite nicht gefunden\b",
    r"\bpage (?:introuvable|non trouvée)\b",
    r"\bpágina no encontrada\b",
    r"页面不存在|找不到(?:该|此|您要的)?页面|页面未找到|服务器错误|出错了",
    r"ページが見つかりません|お探しのページ|エラーが発生しました|サーバーエラー",
)
CONSENT_WALL = _phrases(
    r"\bcookies?\b",
    r"\bconsent\b",
    r"\baccept all\b",
    r"\breject all\b",
    r"\bmanage (?:your )?(?:preferences|choices|settings)\b",
    r"\bwe value your privacy\b",
    r"\b(?:our )?(?:vendors|partners)\b",
    r"\blegitimate interest\b",
    r"\bpersonali[sz]ed (?:ads|advertising|content)\b",
    r"使用\s*cookie|接受所有|隐私设置|同意",
    r"クッキー|同意する|すべて受け入れる|プライバシー設定",
)
JAVASCRIPT_WALL = _phrases(
    r"\benable javascript\b",
    r"\bjavascript (?:is )?(?:disabled|required|turned off)\b",
    r"\brequires javascript\b",
    r"\bturn on javascript\b",
    r"\byour browser (?:does not|doesn't) support\b",
    r"\bplease (?:update|upgrade) your browser\b",
    r"\bjavascript aktivieren\b",
    r"\bactiver javascript\b",
    r"启用\s*javascript|开启\s*javascript|浏览器不支持",
    r"javascript\s*を有効|javascript\s*が無効|ブラウザの設定",
)
# Phrases about access, not about accounts: a support article on resetting a password is content.
LOGIN_WALL = _phrases(
    r"\b(?:sign|log) ?in (?:to|and) (?:continue|read|view|access|see|download)\b",
    r"\b(?:members|subscribers|registered users) only\b",
    r"\bonly (?:available )?(?:to|for) (?:members|subscribers|registered users)\b",
    r"\bavailable to (?:members|subscribers|registered users)(?: only)?\b",
    r"\b(?:subscribe|register|sign up) (?:now )?to (?:continue|read|access|unlock)\b",
    r"\bcreate (?:an|your|a free) account to\b",
    r"\balready (?:a member|a subscriber|have an account)\b",
    r"\bnot a (?:member|subscriber) yet\b",
    r"\bforgot (?:your )?password\b",
    r"\bremember me\b",
    r"登录后(?:查看|继续|阅读)|会员专享|仅限会员|请先登录",
    r"ログインして|会員限定|会員登録|ログインが必要",
)
COMING_SOON = _phrases(
    r"\bcoming soon\b",
    r"\bunder construction\b",
    r"\bcheck back (?:soon|later)\b",
    r"\bstay tuned\b",
    r"\blaunching soon\b",
    r"\bwork in progress\b",
    r"\bdemnächst\b",
    r"\bbientôt disponible\b",
    r"\bpróximamente\b",
    r"敬请期待|即将推出|正在建设|建设中",
    r"近日公開|準備中|工事中|公開予定",
)
FILLER = _phrases(
    r"\bin today'?s (?:fast-paced|digital|modern|ever-changing) (?:world|age|landscape)\b",
    r"\blook no further\b",
    r"\bwhether you(?:'re| are) a\b",
    r"\btake (?:your|it) .{1,30}? to the next level\b",
    r"\beverything you need to know\b",
    r"\bgame[- ]changer\b",
    r"\bunlock (?:the|your) (?:full )?potential\b",
    r"\bseamless(?:ly)?\b",
    r"\bcutting[- ]edge\b",
    r"\bstate[- ]of[- ]the[- ]art\b",
    r"\bbest[- ]in[- ]class\b",
    r"\bin conclusion\b",
    r"\bit (?:is|'s) (?:important|worth) (?:to note|noting)\b",
    r"\bwhen it comes to\b",
    r"\bat the end of the day\b",
    r"\bthe possibilities are endless\b",
    r"\b(?:elevate|empower|revolutioni[sz]e|supercharge)s?\b",
    r"\bone-stop (?:shop|solution)\b",
    r"\bsecond to none\b",
    # Motivational filler that says nothing about the subject.
    r"\bone[- ]size[- ]fits[- ]all\b",
    r"\bmake(?:s)? all the difference\b",
    r"\b(?:has|have) never been easier\b",
    r"\bso why wait\b",
    r"\bnow is the (?:perfect|best) time\b",
    r"\b(?:does not|doesn't) happen overnight\b",
    r"\banything is possible\b",
    r"\bkeep learning\b",
    r"\bcloser to your goals?\b",
    r"\bthe key is to\b",
    r"\bthe good news is\b",
    r"\bthank you for reading\b",
    r"\bthe latest trends\b",
    r"\bcountless (?:resources|ways|options)\b",
    r"\bevery situation is different\b",
    r"\btake the first step\b",
    r"\bthe right mindset\b",
    r"\bmany experts agree\b",
    r"\bstay tuned for more\b",
    r"\bthe sky is the limit\b",
)
BOILERPLATE = _phrases(
    r"\bterms (?:of (?:use|service)|and conditions)\b",
    r"\bprivacy (?:policy|notice|statement)\b",
    r"\bcookie (?:policy|notice|settings)\b",
    r"\ball rights reserved\b",
    r"©|\(c\) \d{4}|\bcopyright \d{4}",
    r"\b(?:follow|share) (?:us|this) on\b",
    r"\bsubscribe to (?:our|the) newsletter\b",
    r"\bunsubscribe\b",
    r"版权所有|隐私政策|使用条款",
    r"無断転載|プライバシーポリシー|利用規約",
)
_PRICE = re.compile(r"(?:[$€£¥₹]\s?\d[\d,.]*|\d[\d,.]*\s?(?:[$€£¥₹]|usd|eur|gbp|元|円))", re.I)

# Function words (the most frequent closed-class words): real prose is ~40-50% function words;
# a bag of random real words drawn from a vocabulary has few.
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the a an of to in and or but is are was were be been being it its this that these those for on with as"
        " at by from not no can will would should could may might must do does did have has had which who what"
        " when where how if than then so there their they them he she his her we our you your i my me all any"
        " each more most some such only also into about over after before between through up out".split()
    ),
    "de": frozenset(
        "der die das den dem des ein eine einen einem einer und oder aber ist sind war waren sein nicht mit von"
        " zu im in auf für an als auch es sie er wir ihr ich du sich bei nach aus wie wenn dass so nur noch".split()
    ),
    "fr": frozenset(
        "le la les l un une des du de d et ou mais est sont été être a ont avoir il elle ils elles nous vous je"
        " ne pas que qui dans sur pour par avec en au aux ce cette ces se sa son ses leur plus comme si".split()
    ),
    "es": frozenset(
        "el la los las un una unos unas de del y o pero es son fue ser estar está han ha no que qui en con por"
        " para al se su sus lo le les como más si este esta estos ya muy también".split()
    ),
    "zh": frozenset("的 了 是 在 和 有 也 就 都 而 及 与 着 或 把 被 让 从 到 对 为 以 这 那 个 中 上 下 不".split()),
    "ja": frozenset(
        "の に は を た が で て と し れ さ も な だ です ます から まで より や か ない する いる ある".split()
    ),
}
# Articles are followed by a noun phrase; in shuffled words they are followed by anything,
# often another function word ("the of", "a and"). Japanese: を and が precede a verb or noun.
ARTICLES: dict[str, frozenset[str]] = {
    "en": frozenset({"the", "a", "an"}),
    "de": frozenset({"der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem"}),
    "fr": frozenset({"le", "la", "les", "un", "une", "des"}),
    "es": frozenset({"el", "la", "los", "las", "un", "una"}),
    "zh": frozenset({"的", "把", "被"}),
    "ja": frozenset({"を", "が"}),
}


def _opening(seg: Segments, title: str) -> str:
    """Where a page says what it is: the title, the first heading, the first prose characters."""
    first_heading = seg.headings[0] if seg.headings else ""
    return f"{title}\n{first_heading}\n" + "\n".join(seg.prose)[:_OPENING_CHARS]


def _short(prose_words: list[str]) -> bool:
    return len(prose_words) < SHORT_PAGE_WORDS


def error_page_score(seg: Segments, prose_words: list[str], title: str) -> float:
    """1 when a short page opens like an error page (a soft 404, a 500 served with 200)."""
    return float(_short(prose_words) and bool(ERROR_PAGE.search(_opening(seg, title))))


def wall_phrase_count(pattern: PhraseSet, seg: Segments, prose_words: list[str], title: str) -> float:
    """How many distinct wall phrases a short page uses (0 on long pages)."""
    if not _short(prose_words):
        return 0.0
    text = title + "\n" + "\n".join([*seg.headings, *seg.prose])
    return float(len({m.group(0).lower() for m in pattern.finditer(text)}))


def coming_soon_score(seg: Segments, prose_words: list[str], title: str) -> float:
    """1 when a page under 150 prose words announces content that is not there yet."""
    return float(len(prose_words) < 150 and bool(COMING_SOON.search(_opening(seg, title))))


def filler_phrase_rate(seg: Segments, prose_words: list[str]) -> float:
    """Marketing filler phrases per 100 prose words (NaN under 50 words)."""
    if len(prose_words) < 50:
        return math.nan
    return 100.0 * len(FILLER.findall("\n".join(seg.prose))) / len(prose_words)


def top10_word_fraction(prose_words: list[str], language: str | None) -> float:
    """Share of the content words that are one of the ten most frequent: keyword stuffing
    repeats a handful of terms (about 1.0); prose and reference pages stay near 0.2-0.5."""
    function = FUNCTION_WORDS.get(language or "", frozenset())
    content = [w for w in prose_words if w not in function and len(w) > 1 and not w.isdigit()]
    if len(content) < 60:
        return math.nan
    return sum(n for _, n in Counter(content).most_common(10)) / len(content)


def function_word_fraction(seg: Segments, language: str | None) -> float:
    """Share of function words in the sentence-like prose lines (8+ words: a table of contents
    or a list of names is not measured); NaN without a word list or under 60 such words."""
    function = FUNCTION_WORDS.get(language or "")
    if not function:
        return math.nan
    words = [w.strip(WORD_PUNCTUATION).lower() for line in seg.prose for w in _sentence_words(line, language)]
    if len(words) < 60:
        return math.nan
    return sum(1 for w in words if w in function) / len(words)


def _sentence_words(line: str, language: str | None) -> list[str]:
    found = tokens(line, language)
    return found if len(found) >= 8 else []


def article_misuse_fraction(prose_words: list[str], language: str | None) -> float:
    """Share of articles followed by a function word: near 0 in prose, high in shuffled words."""
    articles, function = ARTICLES.get(language or ""), FUNCTION_WORDS.get(language or "")
    if not articles or len(prose_words) < 60:
        return math.nan
    follows = [nxt for word, nxt in zip(prose_words, prose_words[1:], strict=False) if word in articles]
    if len(follows) < 8:
        return math.nan
    return sum(1 for w in follows if w in function) / len(follows)


def price_list_score(seg: Segments, prose_words: list[str]) -> float:
    """Prices per line on a page with little prose (a price table, a catalogue listing)."""
    lines = [*seg.prose, *seg.table_rows]
    prices = sum(len(_PRICE.findall(line)) for line in lines)
    if prices < 5 or len(prose_words) >= 150 + 10 * prices:
        return 0.0
    return prices / max(1, len(lines))


def tag_cloud_score(seg: Segments, language: str | None) -> float:
    """Share of prose lines that are runs of 12+ bare terms: under 10% function words (prose
    has 30-50%), no sentence end."""
    function = FUNCTION_WORDS.get(language or "", frozenset())
    if not seg.prose or not function:
        return math.nan
    runs = 0
    for line in seg.prose:
        if line.endswith((".", "!", "?", "。")):
            continue
        terms = line.split()
        if len(terms) >= 12:
            terms = [t.strip(",.;:·|#()").lower() for t in terms]
            runs += sum(1 for t in terms if t in function) < 0.1 * len(terms)
    return runs / len(seg.prose)


def boilerplate_line_fraction(seg: Segments) -> float:
    """Share of prose lines that are site boilerplate (policies, copyright, share/subscribe)."""
    if len(seg.prose) < 3:
        return math.nan
    # One scan of the joined lines (no boilerplate phrase spans a line break), each match's line counted once.
    text = "\n".join(seg.prose)
    starts = list(itertools.accumulate((len(line) + 1 for line in seg.prose[:-1]), initial=0))
    lines = {bisect.bisect_right(starts, m.start()) for m in BOILERPLATE.finditer(text)}
    return len(lines) / len(seg.prose)


def junk_signals(seg: Segments, prose_words: list[str], language: str | None, title: str) -> dict[str, float]:
    """Every junk signal by name (see each function)."""
    return {
        "error_page_score": error_page_score(seg, prose_words, title),
        "consent_wall_phrases": wall_phrase_count(CONSENT_WALL, seg, prose_words, title),
        "javascript_wall_phrases": wall_phrase_count(JAVASCRIPT_WALL, seg, prose_words, title),
        "login_wall_phrases": wall_phrase_count(LOGIN_WALL, seg, prose_words, title),
        "coming_soon_score": coming_soon_score(seg, prose_words, title),
        "filler_phrase_rate": filler_phrase_rate(seg, prose_words),
        "top10_word_fraction": top10_word_fraction(prose_words, language),
        "function_word_fraction": function_word_fraction(seg, language),
        "article_misuse_fraction": article_misuse_fraction(prose_words, language),
        "price_list_score": price_list_score(seg, prose_words),
        "tag_cloud_score": tag_cloud_score(seg, language),
        "boilerplate_line_fraction": boilerplate_line_fraction(seg),
    }
