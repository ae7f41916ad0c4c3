"""Dedup over `documents` rows built directly: exact and near copies, stable cluster ids,
incremental == full, tombstones."""

from __future__ import annotations

import random

import pytest

from corpusforge.flows.dedup import dedup
from corpusforge.flows.stage import StageSummary
from corpusforge.processing.dedup import true_jaccard
from corpusforge.processing.dedup_clusters import Member, representative_key
from corpusforge.schemas.config import DedupSettings, Settings
from corpusforge.warehouse import Warehouse
from tests.dedup.conftest import T0, make_doc, random_text, substitute, write_docs

pytestmark = pytest.mark.usefixtures("prefect_api")  # every dedup runs as a Prefect flow


def run_dedup(wh: Warehouse, cfg: DedupSettings) -> StageSummary:
    return dedup(Settings(warehouse=wh.root, dedup=cfg))


COLUMNS = "doc_id, cluster_id, cluster_size, is_representative, duplicate_of, reason"


def clusters(wh) -> dict[str, tuple]:
    con = wh.connect()
    try:
        rows = con.sql(f"select {COLUMNS} from clusters where not coalesce(removed, false)").fetchall()
    finally:
        con.close()
    return {r[0]: r[1:] for r in rows}


def latest_rows(wh, doc_id: str) -> dict:
    con = wh.connect()
    try:
        return con.sql(f"select * from clusters_latest where doc_id = '{doc_id}'").to_arrow_table().to_pylist()[0]
    finally:
        con.close()


def test_exact_copies_after_normalisation(wh, cfg):
    base = random_text(1)
    copy = "  " + base.upper().replace(" ", " \n ") + " !!!"
    write_docs(wh, [make_doc("a", base, quality=0.4), make_doc("b", copy, quality=0.9), make_doc("c", random_text(2))])
    run_dedup(wh, cfg)
    got = clusters(wh)
    # b has the higher quality score, so it represents the cluster; the id is the smallest doc_id
    assert got["b"] == ("a", 2, True, None, None)
    assert got["a"] == ("a", 2, False, "b", "exact_duplicate_of")
    assert got["c"] == ("c", 1, True, None, None)


# Substitutions spread over a 400-word text give these true shingle Jaccard similarities:
# 2 -> 0.95, 4 -> 0.90, 6 -> 0.86, 8 -> 0.82 (found) and 12 -> 0.74, 15 -> 0.68, 25 -> 0.52 (not
# found). Pairs are verified by the exact Jaccard of the stored shingle sets, so the stored
# similarity is the true one (up to 32-bit shingle-hash collisions).
FOUND, NOT_FOUND = (2, 4, 6, 8), (12, 15, 25)


def test_near_copies_found_above_threshold_only(wh, cfg):
    base = random_text(3)
    copies = {count: substitute(base, count, seed=count) for count in FOUND + NOT_FOUND}
    jaccard = {count: true_jaccard(base, text) for count, text in copies.items()}
    assert all(jaccard[c] >= 0.8 for c in FOUND) and all(jaccard[c] <= 0.75 for c in NOT_FOUND)
    docs = [make_doc("orig", base, quality=0.9)] + [make_doc(f"copy{c:02d}", t, quality=0.1) for c, t in copies.items()]
    write_docs(wh, docs)
    run_dedup(wh, cfg)
    got = clusters(wh)
    assert got["orig"] == ("copy02", len(FOUND) + 1, True, None, None)
    for count in FOUND:
        assert got[f"copy{count:02d}"] == ("copy02", len(FOUND) + 1, False, "orig", "near_duplicate_of")
        assert abs(latest_rows(wh, f"copy{count:02d}")["similarity"] - jaccard[count]) < 1e-3
    for count in NOT_FOUND:
        assert got[f"copy{count:02d}"] == (f"copy{count:02d}", 1, True, None, None)


def corpus(seed: int = 0) -> list[dict]:
    """Families of an original with exact and near copies, plus unrelated documents."""
    rng = random.Random(seed)
    docs = []
    for fam in range(6):
        base = random_text(100 + fam)
        docs.append(make_doc(f"f{fam}-orig", base, quality=rng.random(), fetched_days=rng.randint(0, 9)))
        docs.append(make_doc(f"f{fam}-exact", base.upper(), quality=rng.random(), fetched_days=rng.randint(0, 9)))
        for k in range(2):
            near = substitute(base, 2 + 2 * k, seed=fam * 10 + k)
            docs.append(make_doc(f"f{fam}-near{k}", near, quality=rng.random(), fetched_days=rng.randint(0, 9)))
    for i in range(8):
        docs.append(make_doc(f"u{i}", random_text(500 + i), quality=rng.random()))
    return docs


def test_cluster_ids_stable_across_reruns_and_input_order(tmp_path, cfg):
    docs = corpus()
    first = Warehouse(str(tmp_path / "one"))
    first.init()
    write_docs(first, docs)
    run_dedup(first, cfg)
    before = clusters(first)
    summary = run_dedup(first, cfg)
    assert summary.counts["signed (new or changed)"] == 0
    assert summary.counts["clusters rows written"] == 0
    assert clusters(first) == before

    shuffled = docs[:]
    random.Random(5).shuffle(shuffled)
    second = Warehouse(str(tmp_path / "two"))
    second.init()
    for i in range(0, len(shuffled), 7):  # several files, another order
        write_docs(second, shuffled[i : i + 7], run_id=f"clean-{i}")
    run_dedup(second, cfg)
    assert clusters(second) == before
    assert {v[0] for k, v in before.items() if k.startswith("f0")} == {"f0-exact"}  # smallest doc_id


def test_incremental_equals_full_run(tmp_path, cfg):
    docs = corpus()
    base = {d["doc_id"]: d for d in docs}
    # The second batch: new near copies, a document bridging two families, a changed
    # document (f1-near0 rewritten, it leaves its family) and unrelated documents.
    f2, f3 = base["f2-orig"]["text"].split(), base["f3-orig"]["text"].split()
    bridge_a = " ".join(f2[:200] + f3[:200])
    later = [
        make_doc("g-near-f0", substitute(base["f0-orig"]["text"], 5, seed=99), quality=0.99),
        make_doc("g-bridge", bridge_a),
        make_doc("g-bridge2", substitute(bridge_a, 3, seed=7)),
        make_doc("f1-near0", random_text(900), quality=0.3),
        make_doc("g-unrelated", random_text(901)),
    ]
    incremental = Warehouse(str(tmp_path / "inc"))
    incremental.init()
    write_docs(incremental, docs)
    run_dedup(incremental, cfg)
    write_docs(incremental, later, run_id="clean-2")
    summary = run_dedup(incremental, cfg)
    assert summary.counts["signed (new or changed)"] == len(later)

    union = {**base, **{d["doc_id"]: d for d in later}}
    full = Warehouse(str(tmp_path / "full"))
    full.init()
    write_docs(full, list(union.values()))
    run_dedup(full, cfg)
    assert clusters(incremental) == clusters(full)
    assert clusters(full)["g-near-f0"] == ("f0-exact", 5, True, None, None)
    assert clusters(full)["f1-near0"] == ("f1-near0", 1, True, None, None)


def test_tombstoned_representative_is_replaced(wh, cfg):
    base = random_text(11)
    write_docs(
        wh,
        [
            make_doc("a", base, quality=0.9),
            make_doc("b", base + " .", quality=0.5, fetched_days=1),
            make_doc("c", substitute(base, 4, seed=1), quality=0.5, fetched_days=0),
            make_doc("d", random_text(12)),
        ],
    )
    run_dedup(wh, cfg)
    assert clusters(wh)["a"] == ("a", 3, True, None, None)
    wh.write("tombstones", [{"doc_id": "a", "reason": "http_404", "created_at": T0.replace(year=2030)}], "crawl-x")
    summary = run_dedup(wh, cfg)
    got = clusters(wh)
    assert "a" not in got
    # equal quality: the earlier fetch (c) wins over b
    assert got["c"] == ("b", 2, True, None, None)
    assert got["b"] == ("b", 2, False, "c", "near_duplicate_of")
    removed = latest_rows(wh, "a")
    assert removed["removed"] is True and removed["cluster_id"] == "a"
    assert summary.counts["left clusters"] == 1
    # d was not touched: no new row for it
    con = wh.connect()
    assert con.sql("select count(*) from clusters_history where doc_id = 'd'").fetchall()[0][0] == 1
    con.close()


def test_document_no_longer_kept_leaves_and_splits_chain(wh, cfg):
    text = random_text(21, words=600).split()
    left, right = " ".join(text[:400]), " ".join(text[200:600])
    middle = " ".join(text[100:500])  # ~0.6 with each side... bridge only via near copies below
    write_docs(wh, [make_doc("l", left), make_doc("m", middle), make_doc("r", right)])
    run_dedup(wh, cfg)
    assert len(set(v[0] for v in clusters(wh).values())) == 3  # below threshold: all alone
    dropped = make_doc("m", middle, kept=False)
    write_docs(wh, [dropped], run_id="clean-2")
    run_dedup(wh, cfg)
    assert "m" not in clusters(wh)
    assert latest_rows(wh, "m")["removed"] is True


def test_representative_rule():
    def m(doc_id, q, days):
        from datetime import timedelta

        return Member(doc_id, None, "x", q, T0 + timedelta(days=days) if days is not None else None)

    ranked = sorted(
        [m("b", 0.5, 1), m("a", 0.5, 1), m("c", 0.7, 5), m("d", 0.5, 0), m("e", None, 0)], key=representative_key
    )
    assert [x.doc_id for x in ranked] == ["c", "d", "a", "b", "e"]


def test_signatures_on_worker_processes_equal_those_computed_here():
    from corpusforge.flows.configs import minhash_params
    from corpusforge.flows.dedup import signatures_on_pool
    from corpusforge.processing.dedup import SERIAL_BELOW, signature_batch

    params = minhash_params(DedupSettings())
    batches = [
        ([f"d{b}-{i}" for i in range(5)], [random_text(b * 10 + i, words=80) for i in range(5)]) for b in range(6)
    ]

    def by_doc(batch):
        return {
            d: (e, m.tolist(), s.tolist())
            for d, e, m, s in zip(batch.doc_ids, batch.exact, batch.matrix, batch.shingles, strict=True)
        }

    here = {}
    for ids, texts in batches:
        here.update(by_doc(signature_batch(ids, texts, params)))
    on_pool = {}
    for batch in signatures_on_pool(iter(batches), params, workers=2, total=SERIAL_BELOW):
        on_pool.update(by_doc(batch))
    assert on_pool == here and len(here) == 30
