"""Create the media and private buckets on the CI's S3 server (.ci/run), waiting until it accepts
writes: SeaweedFS answers HTTP before its filer and volume server are ready.

    .venv/bin/python scripts/ci_s3_buckets.py                     # AWS_STORAGE_BUCKET_NAME (+ private)
    .venv/bin/python scripts/ci_s3_buckets.py --xdist-workers 2   # also NAME-gw0 and NAME-gw1 of each

Under pytest-xdist each worker uses buckets of its own (config/settings_test.py)."""

import argparse
import os
import sys
import time

import boto3
from botocore.config import Config


def bucket_names(environ, *, xdist_workers: int = 0) -> list[str]:
    """The buckets to make: each configured one, and its copy per xdist worker (``NAME-gwN``)."""
    names = [environ["AWS_STORAGE_BUCKET_NAME"]]
    if environ.get("AWS_PRIVATE_BUCKET_NAME"):
        names.append(environ["AWS_PRIVATE_BUCKET_NAME"])
    return names + [f"{name}-gw{n}" for name in names for n in range(xdist_workers)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--xdist-workers", type=int, default=0, help="Also make NAME-gw0 .. NAME-gw(N-1) of each bucket."
    )
    args = parser.parse_args(argv)
    s3 = boto3.client(
        "s3",
        endpoint_url=os.environ["AWS_S3_ENDPOINT_URL"],
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        region_name=os.environ.get("AWS_S3_REGION_NAME") or "us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )
    buckets = bucket_names(os.environ, xdist_workers=args.xdist_workers)
    last: Exception | None = None
    for _ in range(60):
        try:
            existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
            for bucket in buckets:
                if bucket not in existing:
                    s3.create_bucket(Bucket=bucket)
                s3.put_object(Bucket=bucket, Key="ci-probe", Body=b"ok")
                s3.delete_object(Bucket=bucket, Key="ci-probe")
        except Exception as error:  # noqa: BLE001 - any error means "not ready yet"
            last = error
            time.sleep(1)
            continue
        print(f"S3 buckets ready: {', '.join(buckets)}")
        return 0
    print(f"S3 not ready: {last}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
