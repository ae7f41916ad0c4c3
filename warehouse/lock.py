"""A per-table write lock: a lock file created exclusively, naming the run that holds it.

Two runs writing the same table would interleave files and break the incremental state, so
the second one stops with a message that says who holds the lock. A lock left by a process
that died on this host is taken over (its pid no longer exists).

The exclusive create is the filesystem's own: `O_EXCL` on a local disk, and on S3 a conditional
put (`If-None-Match: *`), which the store refuses with 412 when the key exists, so two workers on
different machines never both hold a table. Taking over a stale lock on S3 is a put with
`If-Match: <etag of the stale lock>` (only one of several contenders replaces that very object),
and a release deletes the lock only while it is still ours (`If-Match` on the delete). Other
remote filesystems (gs://, memory://, ...) get check-then-write: good for one writer at a time only.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

import pyarrow.fs as pafs


class TableLockedError(RuntimeError):
    """Another run is writing the table."""


def print_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LockFile(Protocol):
    """Where a lock lives. `token` names one version of the lock file (an S3 ETag), so that a
    takeover or a release acts on that version only."""

    def create(self, data: bytes) -> str | None:
        """Create the file only if there is none; its token, or None when it exists."""

    def read(self) -> tuple[bytes, str | None]:
        """The file's bytes and token (b"", None when there is no file)."""

    def replace(self, token: str | None, data: bytes) -> str | None:
        """Replace the version `token` (a stale lock) with `data`; the new token, or None when
        another process changed or removed the file first."""

    def delete(self, token: str | None) -> None:
        """Remove the file if it is still the version `token` (any version for None)."""


class LocalLockFile:
    """A lock file on a local disk (O_EXCL create)."""

    def __init__(self, path: str):
        self.path = path

    def create(self, data: bytes) -> str | None:
        # The holder is written to a file of our own, then hard-linked to the lock's name (an
        # exclusive create, like O_EXCL): the lock never exists empty, so a kill between create
        # and write cannot leave one that no rule can tell stale.
        staged = f"{self.path}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        with open(staged, "wb") as fh:
            fh.write(data)
        try:
            os.link(staged, self.path)
        except FileExistsError:
            return None
        finally:
            os.unlink(staged)
        return "local"

    def read(self) -> tuple[bytes, str | None]:
        try:
            with open(self.path, "rb") as fh:
                return fh.read(), "local"
        except OSError:
            return b"", None

    def replace(self, token: str | None, data: bytes) -> str | None:
        self.delete(token)
        return self.create(data)

    def delete(self, token: str | None) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class FsLockFile:
    """Check-then-write through a pyarrow filesystem with no exclusive create (best effort)."""

    def __init__(self, fs: pafs.FileSystem, path: str):
        self.fs, self.path = fs, path

    def create(self, data: bytes) -> str | None:
        if self.fs.get_file_info(self.path).type != pafs.FileType.NotFound:
            return None
        with self.fs.open_output_stream(self.path) as fh:
            fh.write(data)
        return "fs"

    def read(self) -> tuple[bytes, str | None]:
        try:
            with self.fs.open_input_stream(self.path) as fh:
                return fh.read(), "fs"
        except OSError:
            return b"", None

    replace = LocalLockFile.replace  # no version to compare: delete, then an exclusive create

    def delete(self, token: str | None) -> None:
        try:
            self.fs.delete_file(self.path)
        except FileNotFoundError:
            pass


class S3LockFile:
    """A lock object on S3, written with conditional requests (boto3)."""

    def __init__(self, client, bucket: str, key: str):
        self.client, self.bucket, self.key = client, bucket, key

    def _refused(self, exc: Exception) -> bool:
        # 412: the condition failed; 409: a concurrent conditional write to the key won the race.
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        return code in ("PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "404")

    def _put(self, data: bytes, **condition) -> str | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.put_object(Bucket=self.bucket, Key=self.key, Body=data, **condition)["ETag"]
        except ClientError as exc:
            if self._refused(exc):
                return None
            raise

    def create(self, data: bytes) -> str | None:
        return self._put(data, IfNoneMatch="*")

    def read(self) -> tuple[bytes, str | None]:
        from botocore.exceptions import ClientError

        try:
            got = self.client.get_object(Bucket=self.bucket, Key=self.key)
        except ClientError as exc:
            if self._refused(exc):
                return b"", None
            raise
        return got["Body"].read(), got["ETag"]

    def replace(self, token: str | None, data: bytes) -> str | None:
        if token is None:
            return self.create(data)
        return self._put(data, IfMatch=token)

    def delete(self, token: str | None) -> None:
        from botocore.exceptions import ClientError

        condition = {"IfMatch": token} if token else {}
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key, **condition)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "NotImplemented" and condition:  # a store without conditional deletes
                self.client.delete_object(Bucket=self.bucket, Key=self.key)
            elif not self._refused(exc):  # refused: another run took the lock over; it is theirs now
                raise


def s3_client(root_url: str):
    """A boto3 S3 client for a warehouse URL, with the options pyarrow reads from its query
    (`endpoint_override`, `scheme`, `region`, `access_key`, `secret_key`, `session_token`);
    anything not given comes from the environment (AWS_ENDPOINT_URL, AWS_REGION, credentials)."""
    import boto3

    query = {k: v[-1] for k, v in parse_qs(urlsplit(root_url).query).items()}
    endpoint = query.get("endpoint_override")
    if endpoint and "://" not in endpoint:
        endpoint = f"{query.get('scheme', 'https')}://{endpoint}"
    return boto3.client(
        "s3",
        endpoint_url=endpoint or None,
        region_name=query.get("region") or None,
        aws_access_key_id=query.get("access_key") or None,
        aws_secret_access_key=query.get("secret_key") or None,
        aws_session_token=query.get("session_token") or None,
    )


def lock_file_for(fs: pafs.FileSystem, path: str, root_url: str, is_local: bool) -> LockFile:
    """The lock file that gives an exclusive create on this warehouse's storage."""
    if is_local:
        return LocalLockFile(path)
    if isinstance(fs, pafs.S3FileSystem):
        bucket, _, key = path.partition("/")
        return S3LockFile(s3_client(root_url), bucket, key)
    return FsLockFile(fs, path)


class TableLock:
    def __init__(self, lock_file: LockFile, path: str, table: str, run_id: str, wait: float = 0.0):
        self.lock_file, self.path, self.table, self.run_id = lock_file, path, table, run_id
        self.wait = wait  # seconds to wait for another run to finish before giving up
        self.held = False
        self._token: str | None = None  # the version of the lock file we wrote
        # Told once, in one line, when the lock is busy and we wait for its holder.
        self.notify: Callable[[str], None] = print_to_stderr

    def _holder_info(self) -> dict:
        payload = {
            "run_id": self.run_id,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        return payload

    def _read_holder(self) -> tuple[dict, str | None]:
        data, token = self.lock_file.read()
        try:
            return json.loads(data.decode() or "{}"), token
        except ValueError:
            return {}, token

    def _is_stale(self, holder: dict) -> bool:
        return holder.get("host") == socket.gethostname() and not _pid_alive(int(holder.get("pid", 0) or 0))

    def acquire(self) -> TableLock:
        deadline = time.monotonic() + self.wait
        told = False
        while True:
            try:
                return self._acquire_once()
            except TableLockedError:
                if time.monotonic() >= deadline:
                    raise
                if not told:
                    told = True
                    self.notify(self._waiting_line())
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))

    def _waiting_line(self) -> str:
        holder, _ = self._read_holder()
        return (
            f"waiting for run {holder.get('run_id', '?')} (pid {holder.get('pid', '?')} on {holder.get('host', '?')}) "
            f"to finish writing table '{self.table}' (up to {self.wait:g}s)"
        )

    def _took(self, token: str | None) -> bool:
        if token is None:
            return False
        self.held, self._token = True, token
        return True

    def _acquire_once(self) -> TableLock:
        data = json.dumps(self._holder_info()).encode()
        if self._took(self.lock_file.create(data)):
            return self
        holder, token = self._read_holder()
        if holder and self._is_stale(holder):
            if self._took(self.lock_file.replace(token, data)):
                return self
            holder, _ = self._read_holder()
        raise TableLockedError(
            f"table '{self.table}' is being written by run {holder.get('run_id', '?')} "
            f"(pid {holder.get('pid', '?')} on {holder.get('host', '?')} since {holder.get('since', '?')}); "
            f"wait for it to finish, or delete {self.path} if that run is dead"
        )

    def release(self) -> None:
        if self.held:
            self.lock_file.delete(self._token)
            self.held = False

    def abandon(self) -> None:
        """Stop holding the lock without deleting its file: used when work under it may still be
        writing. The file names this process, so another run takes it over once we are gone."""
        self.held = False

    def __enter__(self) -> TableLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
