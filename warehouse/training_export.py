"""Writing a fine-tuning export: `<warehouse parent>/exports/training/<name>/`.

    latest/                                the current version (hard links to its files)
    __versions__/<version>/                every version built
        README.md                          dataset card (Hugging Face YAML header + prose)
        manifest.json                      input snapshot, config hash, counts, checksums
        data/<split>-00000-of-0000N.parquet shards in the Hugging Face layout
        jsonl/<split>.jsonl                OpenAI chat format (on request)

Versions never mix: `datasets` skips folders whose name starts with `__` unless a pattern names
them, so `load_dataset("parquet", data_dir="exports/training/<name>")` and
`load_dataset("exports/training/<name>")` both load `latest/` alone, as does
`load_dataset("exports/training/<name>/latest")` (by its card). A version stays loadable by its
folder, `__versions__/<version>`.

Reproducible: rows arrive sorted, files hold no timestamps, compression and row groups are fixed,
so the same rows give byte-identical shards. Atomic: `stage_export` writes the data files into a
hidden folder, `publish_export` adds the card and manifest and renames it into place. The flow
appends the rows to `training_examples` between the two, so a run killed in between is finished
by the next one without recording the rows twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from corpusforge.warehouse.store import WarehouseError, utc_now

# The tables an export reads: their files make up the snapshot that versions the export.
INPUT_TABLES = ("documents", "clusters", "annotations", "tombstones")
SHARD_ROW_GROUP = 5_000
COMPRESSION = "zstd"
COMPRESSION_LEVEL = 9
MANIFEST = "manifest.json"
VERSIONS_DIR = "__versions__"
LATEST_DIR = "latest"
LEGACY_LATEST_FILE = "LATEST"  # the text file older releases wrote instead of latest/


@dataclass
class WrittenExport:
    path: Path
    version: str
    manifest: dict
    created: bool  # False when this version already existed and was kept


def exports_root(wh) -> Path:
    """`exports/` beside the warehouse root (the folder that holds the warehouse folder)."""
    if not wh.is_local:
        raise WarehouseError(f"exports are written beside a local warehouse; {wh.root_url} is remote")
    return Path(os.path.dirname(wh.root)) / "exports"


def export_dir(wh, name: str) -> Path:
    return exports_root(wh) / "training" / name


def export_path(wh, name: str, version: str) -> Path:
    return export_dir(wh, name) / VERSIONS_DIR / version


def latest_path(wh, name: str) -> Path:
    return export_dir(wh, name) / LATEST_DIR


def input_snapshot(wh) -> dict:
    return wh.snapshot(INPUT_TABLES)


def read_manifest(wh, name: str, version: str) -> dict | None:
    path = export_path(wh, name, version) / MANIFEST
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def latest_version(wh, name: str) -> str | None:
    path = latest_path(wh, name) / MANIFEST
    return json.loads(path.read_text())["version"] if path.is_file() else None


def find_version(wh, name: str, snapshot_id: str, config_hash: str) -> WrittenExport | None:
    """A version built from this very snapshot with this config (so the same rows), if any."""
    versions = export_dir(wh, name) / VERSIONS_DIR
    for manifest_path in sorted(versions.glob(f"*/{MANIFEST}")) if versions.is_dir() else ():
        manifest = json.loads(manifest_path.read_text())
        built_from = manifest.get("snapshot", {}).get("snapshot_id")
        if manifest.get("config_hash") == config_hash and built_from == snapshot_id:
            return WrittenExport(manifest_path.parent, manifest_path.parent.name, manifest, created=False)
    return None


def point_latest(wh, name: str, version: str) -> bool:
    """Make `latest/` the given version (hard links to its files, a copy where links fail), swapped
    in atomically; False when it already is that version's files."""
    source = export_path(wh, name, version)
    latest = latest_path(wh, name)
    if latest_version(wh, name) == version and _same_files(source, latest):
        return False
    staging = latest.parent / f".tmp-{LATEST_DIR}-{secrets.token_hex(4)}"
    try:
        shutil.copytree(source, staging, copy_function=_link_or_copy)
        _publish(staging, latest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    (latest.parent / LEGACY_LATEST_FILE).unlink(missing_ok=True)
    return True


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _same_files(a: Path, b: Path) -> bool:
    """Both folders hold the same files (hard links of each other, or equal manifests)."""
    ma, mb = a / MANIFEST, b / MANIFEST
    if not (ma.is_file() and mb.is_file()):
        return False
    return ma.read_bytes() == mb.read_bytes()


def move_legacy_versions(wh, name: str) -> list[str]:
    """Older releases kept versions directly in `<name>/`, where a parent-level load_dataset mixes
    them: move them under `__versions__/` (returns the versions moved)."""
    folder = export_dir(wh, name)
    moved = []
    if not folder.is_dir():
        return moved
    for child in sorted(folder.iterdir()):
        if child.name in (LATEST_DIR, VERSIONS_DIR) or child.name.startswith(".") or not (child / MANIFEST).is_file():
            continue
        target = folder / VERSIONS_DIR / child.name
        target.parent.mkdir(exist_ok=True)
        if target.exists():
            shutil.rmtree(child)
        else:
            os.replace(child, target)
        moved.append(child.name)
    return moved


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_shards(folder: Path, split: str, table: pa.Table, shards: int) -> list[Path]:
    count = max(1, min(shards, table.num_rows))
    paths = []
    for i in range(count):
        start, stop = i * table.num_rows // count, (i + 1) * table.num_rows // count
        path = folder / "data" / f"{split}-{i:05d}-of-{count:05d}.parquet"
        pq.write_table(
            table.slice(start, stop - start),
            path,
            compression=COMPRESSION,
            compression_level=COMPRESSION_LEVEL,
            row_group_size=SHARD_ROW_GROUP,
        )
        paths.append(path)
    return paths


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(3)}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class StagedExport:
    """A version whose data files are written in a hidden folder, not yet visible."""

    name: str
    version: str
    staging: Path
    final: Path
    files: dict[str, dict]  # relative path -> sha256 and size
    split_stats: dict[str, dict]  # split -> examples, bytes, shard paths (empty splits left out)


def existing_export(wh, name: str, version: str) -> WrittenExport | None:
    """The version as it was written before, if it was."""
    manifest = read_manifest(wh, name, version)
    if manifest is None:
        return None
    return WrittenExport(export_path(wh, name, version), version, manifest, created=False)


def stage_export(
    wh,
    name: str,
    version: str,
    split_tables: dict[str, pa.Table],
    shards: int,
    jsonl_lines: dict[str, Iterable[str]] | None = None,
) -> StagedExport:
    """Write the shards (and JSONL) of one version into a hidden folder beside its final place."""
    move_legacy_versions(wh, name)
    final = export_path(wh, name, version)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.parent / f".tmp-{version}-{secrets.token_hex(4)}"
    (staging / "data").mkdir(parents=True)
    try:
        files, split_stats = _write_files(staging, split_tables, shards, jsonl_lines)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return StagedExport(name, version, staging, final, files, split_stats)


def publish_export(
    wh, staged: StagedExport, card: str, manifest: dict, texts: dict[str, str] | None = None
) -> WrittenExport:
    """Add the dataset card, other `texts` (file name -> content, e.g. LICENSE.md) and the manifest,
    then rename the version into place (replacing an older build of the same version) and make it
    `latest/`."""
    staging = staged.staging
    try:
        files = dict(staged.files)
        for file_name, text in {"README.md": card, **(texts or {})}.items():
            _write_text(staging / file_name, text)
            files[file_name] = {"sha256": _sha256(staging / file_name), "bytes": (staging / file_name).stat().st_size}
        full_manifest = {**manifest, "name": staged.name, "version": staged.version, "splits": staged.split_stats,
                         "files": files}  # fmt: skip
        _write_text(staging / MANIFEST, json.dumps(full_manifest, indent=2, sort_keys=True) + "\n")
        _publish(staging, staged.final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    point_latest(wh, staged.name, staged.version)
    return WrittenExport(staged.final, staged.version, full_manifest, created=True)


def discard_export(staged: StagedExport) -> None:
    shutil.rmtree(staged.staging, ignore_errors=True)


def _write_files(staging: Path, split_tables, shards, jsonl_lines) -> tuple[dict, dict]:
    files: dict[str, dict] = {}
    split_stats: dict[str, dict] = {}
    for split, table in split_tables.items():
        if table.num_rows == 0:
            continue
        paths = _write_shards(staging, split, table, shards)
        for path in paths:
            files[path.relative_to(staging).as_posix()] = {"sha256": _sha256(path), "bytes": path.stat().st_size}
        split_stats[split] = {
            "num_examples": table.num_rows,
            "num_bytes": table.nbytes,
            "download_bytes": sum(p.stat().st_size for p in paths),
            "shards": [p.relative_to(staging).as_posix() for p in paths],
        }
    for split, lines in (jsonl_lines or {}).items():
        if split not in split_stats:
            continue
        path = staging / "jsonl" / f"{split}.jsonl"
        path.parent.mkdir(exist_ok=True)
        with path.open("w", encoding="utf-8", newline="\n") as fh:
            fh.writelines(lines)
        files[path.relative_to(staging).as_posix()] = {"sha256": _sha256(path), "bytes": path.stat().st_size}
    return files, split_stats


def _publish(staging: Path, final: Path) -> None:
    if final.exists():
        old = final.parent / f".old-{final.name}-{secrets.token_hex(4)}"
        os.replace(final, old)
        os.replace(staging, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, final)


def recorded_example_count(wh, name: str, version: str) -> int:
    flt = (ds.field("export_name") == name) & (ds.field("export_version") == version)
    return wh.read("training_examples", columns=["example_id"], filter=flt).num_rows


def record_training_examples(
    wh, rows: list[dict], name: str, version: str, fmt: str, snapshot_id: str, run_id: str
) -> int:
    """Append an export's rows to `training_examples` once per (name, version); returns rows added.
    The caller holds the table lock."""
    if not rows or recorded_example_count(wh, name, version):
        return 0
    created_at = utc_now()
    table_rows = [
        {
            "example_id": r["example_id"],
            "export_name": name,
            "export_version": version,
            "format": fmt,
            "split": r["split"],
            "text": r.get("text"),
            "messages": r.get("messages"),
            "prompt": r.get("prompt"),
            "completion": r.get("completion"),
            "token_count": r["token_count"],
            "doc_id": r["doc_id"],
            "content_hash": r["content_hash"],
            "cluster_id": r["cluster_id"],
            "url": r["url"],
            "source": r["source"],
            "language": r["language"],
            "origin": r["origin"],
            "snapshot_id": snapshot_id,
            "created_at": created_at,
        }
        for r in rows
    ]
    with wh.writer("training_examples", run_id) as writer:
        for start in range(0, len(table_rows), 10_000):
            writer.write(table_rows[start : start + 10_000])
    return len(table_rows)
