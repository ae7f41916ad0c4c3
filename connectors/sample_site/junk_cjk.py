"""Junk pages in Chinese and Japanese: a soft 404 and gibberish in Chinese, a login wall and a consent
wall in Japanese. Gibberish is made of words cut from the Debian Reference's real Chinese text and put
in random order, so its characters and words are those of real prose."""

from __future__ import annotations

import html
import random
import re

from corpusforge.connectors.sample_site.junk import JunkDraft

# Characters that mostly stand alone between words in Chinese prose: cutting runs of Han characters
# at them, then into pairs, gives word-sized pieces without a dictionary.
_ZH_FUNCTION_CHARS = "的了是在和与或中为将对从到把被也都就而及并其这那个一不有要可以"
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def chinese_words(text: str) -> list[str]:
    """Word-sized pieces of the Chinese text, in order, with their frequencies."""
    words: list[str] = []
    for run in _HAN_RUN.findall(text):
        for piece in re.split(f"([{_ZH_FUNCTION_CHARS}])", run):
            if not piece:
                continue
            words.extend(piece[i : i + 2] for i in range(0, len(piece), 2))
    return words


def _zh_soft_404(rng: random.Random, links: list[tuple[str, str]]) -> JunkDraft:
    popular = "\n".join(f'<li><a href="{html.escape(h)}">{_esc(t)}</a></li>' for h, t in rng.sample(links, 6))
    body = (
        "<h2>抱歉，您访问的页面不存在</h2>\n"
        "<p>您要查找的页面可能已被删除、更名，或暂时无法访问。</p>\n"
        "<p>请检查您输入的网址是否正确，或者使用下面的搜索框查找您需要的内容。</p>\n"
        '<form class="search" action="/search" method="get"><input type="search" name="q" placeholder="搜索">'
        ' <button type="submit">搜索</button></form>\n'
        f"<h2>热门页面</h2>\n<ul>\n{popular}\n</ul>\n"
        '<p><a href="/">返回首页</a></p>'
    )
    return JunkDraft("soft_404", "zh", "页面未找到", body, "/zh/docs/", "page-not-found")


def _zh_gibberish(rng: random.Random, words: list[str]) -> JunkDraft:
    paragraphs = []
    for _ in range(10):
        sentences = []
        for _ in range(rng.randint(3, 5)):
            clause = [rng.choice(words) for _ in range(rng.randint(8, 16))]
            if len(clause) > 10:
                clause.insert(rng.randint(4, len(clause) - 4), "，")
            sentences.append("".join(clause) + "。")
        paragraphs.append("".join(sentences))
    heading = "".join(rng.choice(words) for _ in range(4))
    body = f"<h2>{_esc(heading)}</h2>\n" + "\n".join(f"<p>{_esc(p)}</p>" for p in paragraphs)
    title = "".join(rng.choice(words) for _ in range(5))
    return JunkDraft("gibberish", "zh", title, body, "/zh/docs/", "notes")


def _ja_login_wall() -> JunkDraft:
    body = (
        "<h2>ログインして続きを読む</h2>\n"
        "<p>この記事は会員限定です。続きを読むには、ログインまたは無料の会員登録が必要です。</p>\n"
        '<form class="login" action="/login" method="post">\n'
        '<label>メールアドレス <input type="email" name="email"></label>\n'
        '<label>パスワード <input type="password" name="password"></label>\n'
        '<label><input type="checkbox" name="remember"> ログイン状態を保持する</label>\n'
        '<button type="submit">ログイン</button>\n</form>\n'
        '<p><a href="/login/forgot">パスワードをお忘れですか？</a></p>\n'
        "<h3>会員登録のメリット</h3>\n<ul>\n<li>すべての記事が読み放題</li>\n"
        "<li>毎週のニュースレター</li>\n<li>サンプルコードのダウンロード</li>\n</ul>\n"
        '<p><a href="/register">無料で会員登録する</a></p>'
    )
    return JunkDraft("login_wall", "ja", "会員限定記事", body, "/ja/docs/", "members-only")


def _ja_consent_wall(rng: random.Random) -> JunkDraft:
    partners = rng.randint(600, 900)
    paragraphs = (
        f"当サイトと{partners}社のパートナーは、Cookie などの技術を使用して、お使いの端末に情報を保存し、"
        "アクセスします。これには一意の識別子や閲覧データなどが含まれます。",
        "お客様の同意を得た上で、当社とパートナーは正確な位置情報や端末のスキャンによる識別を利用する場合が"
        "あります。上記の処理に同意するには「すべて同意する」をクリックしてください。",
        "同意しない場合は「すべて拒否する」をクリックするか、詳細な情報を確認して設定を変更してください。"
        "一部の個人データの処理には同意が不要な場合がありますが、お客様には異議を申し立てる権利があります。",
        "設定はこのウェブサイトにのみ適用されます。設定の変更や同意の撤回は、フッターの「プライバシー設定」から"
        "いつでも行うことができます。",
    )
    purposes = (
        "端末への情報の保存とアクセス",
        "パーソナライズされた広告とコンテンツ",
        "広告とコンテンツの測定",
        "サービスの開発と改善",
    )
    body = (
        "<h2>続行する前に</h2>\n"
        + "\n".join(f"<p>{_esc(p)}</p>" for p in paragraphs)
        + "\n<ul>\n"
        + "\n".join(f"<li>{_esc(p)}</li>" for p in purposes)
        + '\n</ul>\n<div class="consent-buttons"><button type="button">すべて同意する</button> '
        '<button type="button">すべて拒否する</button> <button type="button">設定を管理</button></div>'
    )
    return JunkDraft("consent_wall", "ja", "続行する前に", body, "/ja/docs/", "consent")


def cjk_junk_drafts(seed: int, zh_text: str, links: list[tuple[str, str]]) -> list[JunkDraft]:
    """The Chinese and Japanese junk pages; ``zh_text`` is real Chinese prose to take words from."""
    rng = random.Random(f"junk-cjk:{seed}")
    return [
        _zh_soft_404(rng, links),
        _zh_gibberish(rng, chinese_words(zh_text)),
        _ja_login_wall(),
        _ja_consent_wall(rng),
    ]
