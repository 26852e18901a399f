"""The emulator evaluates policy conditions as AWS does."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from provisioning.aws import client


def _bucket_with_policy(name: str, statement: dict) -> None:
    s3 = client("s3")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket=name, Key="state", Body=b"{}")
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Principal": "*", "Resource": [f"arn:aws:s3:::{name}/*"], **statement}],
    }
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))


def test_a_tls_only_bucket_policy_lets_requests_through_the_https_stand_in(emulator):
    # All three iam patches at work (it fails without any one of them): the request counts as TLS, the
    # Bool operator is evaluated, and the Deny whose condition does not hold does not apply.
    _bucket_with_policy(
        "condition-does-not-hold",
        {"Effect": "Deny", "Action": "s3:*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    )
    assert client("s3").get_object(Bucket="condition-does-not-hold", Key="state")["Body"].read() == b"{}"


def test_a_deny_without_condition_still_denies(emulator):
    _bucket_with_policy("unconditional-deny", {"Effect": "Deny", "Action": "s3:GetObject"})
    with pytest.raises(ClientError) as error:
        client("s3").get_object(Bucket="unconditional-deny", Key="state")
    assert error.value.response["Error"]["Code"] in ("403", "AccessDenied")
