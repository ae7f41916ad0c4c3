"""The baselines bench/dedup.py runs beside the dedup stage, as scripts for a subprocess each:
datatrove's four MinHash stages, and a naive datasketch loop (MinHash per document, MinHashLSH
insert and query, union-find). Each writes {"clusters": ..., "representatives": ...} for scoring.
"""

DATATROVE_RUN = """
import json, sys, glob
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
    MinhashDedupFilter, MinhashDedupSignature)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.hashing import HashConfig
cfg = MinhashConfig(n_grams={ngram}, num_buckets={bands}, hashes_per_bucket={rows},
                    hash_config=HashConfig(precision=64))
base, inp, tasks = {work!r}, {inp!r}, {tasks}
def run(pipeline, n, workers):
    logs = f"{{base}}/logs/{{len(glob.glob(base + '/logs/*'))}}"
    LocalPipelineExecutor(pipeline=pipeline, tasks=n, workers=workers, logging_dir=logs).run()
run([JsonlReader(inp), MinhashDedupSignature(output_folder=f"{{base}}/sigs", config=cfg)], tasks, tasks)
run([MinhashDedupBuckets(input_folder=f"{{base}}/sigs", output_folder=f"{{base}}/buckets", config=cfg)],
    cfg.num_buckets, tasks)
run([MinhashDedupCluster(input_folder=f"{{base}}/buckets", output_folder=f"{{base}}/remove", config=cfg,
                         save_cluster_id=True)], 1, 1)
run([JsonlReader(inp), MinhashDedupFilter(input_folder=f"{{base}}/remove", load_cluster_ids=True,
     exclusion_writer=JsonlWriter(f"{{base}}/removed")), JsonlWriter(f"{{base}}/kept")], tasks, tasks)
clusters, reps = {{}}, []
for path in glob.glob(base + "/kept/*") + glob.glob(base + "/removed/*"):
    import gzip
    for line in gzip.open(path, "rt"):
        if "/kept/" in path:
            reps.append(json.loads(line)["id"])
        doc = json.loads(line)
        cid = doc.get("metadata", {{}}).get("minhash_cluster_id")
        clusters[doc["id"]] = f"c{{cid}}" if cid is not None and cid >= 0 else doc["id"]
json.dump({{"clusters": clusters, "representatives": reps}}, open({result!r}, "w"))
"""

NAIVE_RUN = """
import json, sys
from datasketch import MinHash, MinHashLSH
sys.path.insert(0, {root!r})
from corpusforge.processing.dedup import normalize_text
docs = json.load(open({inp!r}))
lsh = MinHashLSH(threshold={threshold}, num_perm={num_perm}, weights=({fp}, {fn}))
sigs = {{}}
for doc in docs:
    words = normalize_text(doc["text"]).split()
    m = MinHash(num_perm={num_perm})
    for i in range(max(1, len(words) - {ngram} + 1)):
        m.update(" ".join(words[i:i + {ngram}]).encode("utf-8"))
    sigs[doc["id"]] = m
    lsh.insert(doc["id"], m)
parent = {{d: d for d in sigs}}
def find(x):
    while parent[x] != x:
        x = parent[x]
    return x
for doc_id, m in sigs.items():
    for other in lsh.query(m):
        if other != doc_id and m.jaccard(sigs[other]) >= {threshold}:
            parent[find(other)] = find(doc_id)
clusters = {{d: find(d) for d in sigs}}
json.dump({{"clusters": clusters, "representatives": sorted(set(clusters.values()))}}, open({result!r}, "w"))
"""
