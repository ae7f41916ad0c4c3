"""The lock object of a table on S3: created, replaced and deleted with conditional requests
(boto3), and aged by the store's own clock, for warehouse/lock.py's TableLock and its lease."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit


class S3LockFile:
    """A lock object on S3, written with conditional requests (boto3), kept by a lease."""

    leased = True

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

    def read(self) -> tuple[bytes, str | None, float | None]:
        from botocore.exceptions import ClientError

        try:
            got = self.client.get_object(Bucket=self.bucket, Key=self.key)
        except ClientError as exc:
            if self._refused(exc):
                return b"", None, None
            raise
        return got["Body"].read(), got["ETag"], _age_by_server_clock(got)

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


def _age_by_server_clock(response: dict) -> float:
    """Seconds since the object was last written: the response's Date minus its LastModified, both
    stamped by the store, so no machine's clock skew enters (this machine's clock only when a
    store sends no Date)."""
    date = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    now = parsedate_to_datetime(date) if date else datetime.now(UTC)
    return max(0.0, (now - response["LastModified"]).total_seconds())


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
