"""Writing a fine-tuning export: `<warehouse parent>/exports/training/<name>/`, on the warehouse's
filesystem (a local disk, or the bucket of an s3:// warehouse).

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

Object storage has no folder rename: there a version's files are moved into place one by one,
its manifest last, and `latest/` gets copies (no hard links) with its manifest removed first and
written last. A version or a `latest/` without its manifest is unfinished: the next run redoes it.
"""

from __future__ import annotations

import json
import os
import posixpath
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from corpusforge.warehouse.files import (
    children,
    file_entry,
    files_under,
    is_file,
    read_bytes,
    read_json,
    remove_file,
    remove_tree,
)
from corpusforge.warehouse.lock_lease import raise_if_lost

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
    path: str
    version: str
    manifest: dict
    created: bool  # False when this version already existed and was kept


# ---- the layout ----------------------------------------------------------------------------
def exports_root(wh) -> str:
    """`exports/` beside the warehouse root (the folder, or bucket prefix, that holds it)."""
    return f"{posixpath.dirname(wh.root)}/exports"


def export_dir(wh, name: str) -> str:
    return f"{exports_root(wh)}/training/{name}"


def versions_dir(wh, name: str) -> str:
    return f"{export_dir(wh, name)}/{VERSIONS_DIR}"


def export_path(wh, name: str, version: str) -> str:
    return f"{versions_dir(wh, name)}/{version}"


def latest_path(wh, name: str) -> str:
    return f"{export_dir(wh, name)}/{LATEST_DIR}"


def input_snapshot(wh) -> dict:
    return wh.snapshot(INPUT_TABLES)


def _write_text(wh, path: str, text: str) -> None:
    if wh.is_local:  # a temp file renamed over the old one: a reader never sees half a file
        tmp = f"{posixpath.dirname(path)}/.{posixpath.basename(path)}.{secrets.token_hex(3)}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
        return
    with wh.fs.open_output_stream(path) as fh:  # one PUT: an object appears whole or not at all
        fh.write(text.encode("utf-8"))


# ---- versions and latest/ ------------------------------------------------------------------
def read_manifest(wh, name: str, version: str) -> dict | None:
    return read_json(wh.fs, f"{export_path(wh, name, version)}/{MANIFEST}")


def latest_version(wh, name: str) -> str | None:
    manifest = read_json(wh.fs, f"{latest_path(wh, name)}/{MANIFEST}")
    return manifest["version"] if manifest is not None else None


def find_version(wh, name: str, snapshot_id: str, config_hash: str) -> WrittenExport | None:
    """A version built from this very snapshot with this config (so the same rows), if any."""
    versions = f"{export_dir(wh, name)}/{VERSIONS_DIR}"
    for info in children(wh.fs, versions):
        if info.type != pafs.FileType.Directory or info.base_name.startswith("."):
            continue
        manifest = read_json(wh.fs, f"{info.path}/{MANIFEST}")
        if manifest is None:
            continue
        built_from = manifest.get("snapshot", {}).get("snapshot_id")
        if manifest.get("config_hash") == config_hash and built_from == snapshot_id:
            return WrittenExport(info.path, info.base_name, manifest, created=False)
    return None


def latest_is(wh, name: str, version: str) -> bool:
    """Whether `latest/` already is that version's files (point_latest would change nothing)."""
    source, latest = export_path(wh, name, version), latest_path(wh, name)
    return latest_version(wh, name) == version and _same_files(wh.fs, source, latest)


def point_latest(wh, name: str, version: str) -> bool:
    """Make `latest/` the given version (hard links to its files on a local disk, a copy where
    links fail and on object storage), swapped in atomically where the filesystem can; False when
    it already is that version's files."""
    source = export_path(wh, name, version)
    latest = latest_path(wh, name)
    if latest_is(wh, name, version):
        return False
    if wh.is_local:
        _link_latest(source, latest)
    else:
        _copy_latest(wh.fs, source, latest)
    remove_file(wh.fs, f"{posixpath.dirname(latest)}/{LEGACY_LATEST_FILE}")
    return True


def _link_latest(source: str, latest: str) -> None:
    staging = f"{posixpath.dirname(latest)}/.tmp-{LATEST_DIR}-{secrets.token_hex(4)}"
    try:
        shutil.copytree(source, staging, copy_function=_link_or_copy)
        _publish_local(staging, latest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _copy_latest(fs: pafs.FileSystem, source: str, latest: str) -> None:
    """latest/ on object storage: its manifest goes first (latest/ reads as unfinished meanwhile),
    then the version's files are copied in, files of the older version removed, the manifest last."""
    remove_file(fs, f"{latest}/{MANIFEST}")
    wanted = files_under(fs, source)
    for rel in wanted:
        if rel != MANIFEST:
            fs.copy_file(f"{source}/{rel}", f"{latest}/{rel}")
    for rel in set(files_under(fs, latest)) - set(wanted):
        remove_file(fs, f"{latest}/{rel}")
    fs.copy_file(f"{source}/{MANIFEST}", f"{latest}/{MANIFEST}")


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _same_files(fs: pafs.FileSystem, a: str, b: str) -> bool:
    """Both folders hold the same files (hard links or copies of each other: equal manifests)."""
    ma, mb = f"{a}/{MANIFEST}", f"{b}/{MANIFEST}"
    if not (is_file(fs, ma) and is_file(fs, mb)):
        return False
    return read_bytes(fs, ma) == read_bytes(fs, mb)


def move_legacy_versions(wh, name: str) -> list[str]:
    """Older releases kept versions directly in `<name>/`, where a parent-level load_dataset mixes
    them: move them under `__versions__/` (returns the versions moved). Those releases wrote
    exports beside local warehouses only, so object storage has none."""
    folder = export_dir(wh, name)
    moved: list[str] = []
    if not wh.is_local or not os.path.isdir(folder):
        return moved
    for child in sorted(os.listdir(folder)):
        path = f"{folder}/{child}"
        if child in (LATEST_DIR, VERSIONS_DIR) or child.startswith(".") or not os.path.isfile(f"{path}/{MANIFEST}"):
            continue
        target = f"{folder}/{VERSIONS_DIR}/{child}"
        os.makedirs(posixpath.dirname(target), exist_ok=True)
        if os.path.exists(target):
            shutil.rmtree(path)
        else:
            os.replace(path, target)
        moved.append(child)
    return moved


# ---- staging and publishing one version ----------------------------------------------------
@dataclass
class SplitRows:
    """One split's rows as they go into its shards: how many, and the rows in order a batch at a
    time (so a version is written without holding the dataset)."""

    split: str
    num_rows: int
    batches: Callable[[], Iterator[pa.Table]]


def _shard_bounds(num_rows: int, shards: int) -> list[int]:
    count = max(1, min(shards, num_rows))
    return [i * num_rows // count for i in range(count + 1)]


def _write_split(fs: pafs.FileSystem, folder: str, rows: SplitRows, shards: int, jsonl) -> tuple[list[str], int]:
    """The split's shards (equal slices of its rows, row groups of SHARD_ROW_GROUP rows, so the
    same rows give the same bytes however they were batched) and, with `jsonl` (a table -> lines
    function), its JSONL file; (shard paths, in-memory bytes of the rows)."""
    bounds = _shard_bounds(rows.num_rows, shards)
    count = len(bounds) - 1
    paths = [f"{folder}/data/{rows.split}-{i:05d}-of-{count:05d}.parquet" for i in range(count)]
    lines = fs.open_output_stream(f"{folder}/jsonl/{rows.split}.jsonl") if jsonl else None
    shard, writer, pending, done, nbytes = 0, None, [], 0, 0

    def flush_group():
        nonlocal pending, writer
        if pending:
            writer.write_table(pa.concat_tables(pending), row_group_size=SHARD_ROW_GROUP)
            pending = []

    try:
        for table in rows.batches():
            nbytes += table.nbytes
            if lines is not None:
                lines.write("".join(jsonl(table)).encode("utf-8"))
            while table.num_rows:
                if writer is None:
                    writer = pq.ParquetWriter(paths[shard], table.schema, filesystem=fs, compression=COMPRESSION,
                                              compression_level=COMPRESSION_LEVEL)  # fmt: skip
                in_group = sum(t.num_rows for t in pending)
                take = min(table.num_rows, SHARD_ROW_GROUP - in_group, bounds[shard + 1] - done)
                pending.append(table.slice(0, take))
                table, done = table.slice(take), done + take
                if take + in_group == SHARD_ROW_GROUP or done == bounds[shard + 1]:
                    flush_group()
                if done == bounds[shard + 1]:
                    writer.close()
                    writer, shard = None, shard + 1
    finally:
        if writer is not None:
            writer.close()
        if lines is not None:
            lines.close()
    return paths, nbytes


@dataclass
class StagedExport:
    """A version whose data files are written in a hidden folder, not yet visible."""

    name: str
    version: str
    staging: str
    final: str
    files: dict[str, dict]  # relative path -> sha256 and size
    split_stats: dict[str, dict]  # split -> examples, bytes, shard paths (empty splits left out)


def existing_export(wh, name: str, version: str) -> WrittenExport | None:
    """The version as it was written before, if it was."""
    manifest = read_manifest(wh, name, version)
    if manifest is None:
        return None
    return WrittenExport(export_path(wh, name, version), version, manifest, created=False)


def remove_abandoned_staging(wh, versions_dir: str, prefixes: tuple[str, ...] = (".tmp-", ".old-")) -> None:
    """Remove the hidden folders of runs killed before they published or while they replaced a
    version (.tmp- / .old-, and a run's rows, .parts-: a whole dataset each, left for ever
    otherwise). Called under the training_examples lock, so no live run is using one."""
    for info in wh.fs.get_file_info(pafs.FileSelector(versions_dir, allow_not_found=True)):
        if info.base_name.startswith(prefixes):
            remove_tree(wh.fs, info.path)


def stage_export(
    wh, name: str, version: str, splits: list[SplitRows], shards: int, jsonl: Callable | None = None
) -> StagedExport:
    """Write the shards (and, with `jsonl`, a table -> lines function, the JSONL files) of one
    version into a hidden folder beside its final place."""
    move_legacy_versions(wh, name)
    final = export_path(wh, name, version)
    remove_abandoned_staging(wh, posixpath.dirname(final))
    staging = f"{posixpath.dirname(final)}/.tmp-{version}-{secrets.token_hex(4)}"
    wh.fs.create_dir(f"{staging}/data", recursive=True)
    try:
        files, split_stats = _write_files(wh.fs, staging, splits, shards, jsonl)
    except BaseException:
        remove_tree(wh.fs, staging)
        raise
    return StagedExport(name, version, staging, final, files, split_stats)


def publish_export(
    wh, staged: StagedExport, card: str, manifest: dict, texts: dict[str, str] | None = None, run_id: str = ""
) -> WrittenExport:
    """Add the dataset card, other `texts` (file name -> content, e.g. LICENSE.md) and the manifest,
    then rename the version into place (replacing an older build of the same version) and make it
    `latest/`; not when run `run_id` lost its lock meanwhile (LockLostError: another run exports)."""
    staging = staged.staging
    try:
        files = dict(staged.files)
        for file_name, text in {"README.md": card, **(texts or {})}.items():
            _write_text(wh, f"{staging}/{file_name}", text)
            files[file_name] = file_entry(wh.fs, f"{staging}/{file_name}")
        full_manifest = {**manifest, "name": staged.name, "version": staged.version, "splits": staged.split_stats,
                         "files": files}  # fmt: skip
        _write_text(wh, f"{staging}/{MANIFEST}", json.dumps(full_manifest, indent=2, sort_keys=True) + "\n")
        raise_if_lost(run_id)
        if wh.is_local:
            _publish_local(staging, staged.final)
        else:
            _publish_objects(wh.fs, staging, staged.final)
    except BaseException:
        remove_tree(wh.fs, staging)
        raise
    point_latest(wh, staged.name, staged.version)
    return WrittenExport(staged.final, staged.version, full_manifest, created=True)


def discard_export(wh, staged: StagedExport) -> None:
    remove_tree(wh.fs, staged.staging)


def _write_files(fs: pafs.FileSystem, staging: str, splits: list[SplitRows], shards, jsonl) -> tuple[dict, dict]:
    files: dict[str, dict] = {}
    split_stats: dict[str, dict] = {}
    for rows in splits:
        if rows.num_rows == 0:
            continue
        if jsonl:
            fs.create_dir(f"{staging}/jsonl", recursive=True)
        paths, nbytes = _write_split(fs, staging, rows, shards, jsonl)
        entries = {posixpath.relpath(p, staging): file_entry(fs, p) for p in paths}
        files.update(entries)
        split_stats[rows.split] = {
            "num_examples": rows.num_rows,
            "num_bytes": nbytes,
            "download_bytes": sum(e["bytes"] for e in entries.values()),
            "shards": list(entries),
        }
        if jsonl:
            path = f"{staging}/jsonl/{rows.split}.jsonl"
            files[posixpath.relpath(path, staging)] = file_entry(fs, path)
    return files, split_stats


def _publish_local(staging: str, final: str) -> None:
    if os.path.exists(final):
        old = f"{posixpath.dirname(final)}/.old-{posixpath.basename(final)}-{secrets.token_hex(4)}"
        os.replace(final, old)
        os.replace(staging, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, final)


def _publish_objects(fs: pafs.FileSystem, staging: str, final: str) -> None:
    """A version into place on object storage: the old manifest away first, the files moved, the
    new manifest last (so a half-moved version reads as unfinished, never as complete)."""
    remove_file(fs, f"{final}/{MANIFEST}")
    for rel in files_under(fs, staging):
        if rel != MANIFEST:
            fs.move(f"{staging}/{rel}", f"{final}/{rel}")
    fs.move(f"{staging}/{MANIFEST}", f"{final}/{MANIFEST}")
    remove_tree(fs, staging)
