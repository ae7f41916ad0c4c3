"""Small helpers over a pyarrow filesystem ('/'-separated paths, local or object storage): the
export writers read, list, hash and remove files through these, whatever the warehouse's root."""

from __future__ import annotations

import contextlib
import hashlib
import json
import posixpath

import pyarrow.fs as pafs


def is_file(fs: pafs.FileSystem, path: str) -> bool:
    return fs.get_file_info(path).type == pafs.FileType.File


def read_bytes(fs: pafs.FileSystem, path: str) -> bytes:
    with fs.open_input_stream(path) as fh:
        return fh.read()


def read_json(fs: pafs.FileSystem, path: str) -> dict | None:
    return json.loads(read_bytes(fs, path)) if is_file(fs, path) else None


def children(fs: pafs.FileSystem, folder: str, recursive: bool = False) -> list[pafs.FileInfo]:
    selector = pafs.FileSelector(folder, allow_not_found=True, recursive=recursive)
    return sorted(fs.get_file_info(selector), key=lambda i: i.path)


def files_under(fs: pafs.FileSystem, folder: str) -> list[str]:
    """Relative paths of the files under `folder`."""
    return [
        posixpath.relpath(i.path, folder) for i in children(fs, folder, recursive=True) if i.type == pafs.FileType.File
    ]


def remove_tree(fs: pafs.FileSystem, folder: str) -> None:
    with contextlib.suppress(OSError):
        fs.delete_dir(folder)


def remove_file(fs: pafs.FileSystem, path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        fs.delete_file(path)


def sha256(fs: pafs.FileSystem, path: str) -> str:
    digest = hashlib.sha256()
    with fs.open_input_stream(path) as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_entry(fs: pafs.FileSystem, path: str) -> dict:
    return {"sha256": sha256(fs, path), "bytes": fs.get_file_info(path).size}
