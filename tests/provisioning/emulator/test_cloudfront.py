"""The emulator's CloudFront behaves as AWS documents where the audio CDN module depends on it."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

from provisioning.aws import client


def s3_distribution_config(origin_access_identity: str, **viewer_certificate: object) -> dict:
    """A minimal distribution in front of an S3 bucket, as hashicorp/aws sends it."""
    origin_id = "s3-audio"
    return {
        "CallerReference": str(uuid.uuid4()),
        "Comment": "audio",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": origin_id,
                    "DomainName": "audio.s3.eu-west-1.amazonaws.com",
                    "S3OriginConfig": {"OriginAccessIdentity": origin_access_identity},
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": origin_id,
            "ViewerProtocolPolicy": "redirect-to-https",
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            "MinTTL": 0,
        },
        "ViewerCertificate": viewer_certificate or {"CloudFrontDefaultCertificate": True},
    }


def test_origin_access_identity_lives_through_create_read_update_and_delete_with_etags(emulator):
    cloudfront = client("cloudfront")
    created = cloudfront.create_cloud_front_origin_access_identity(
        CloudFrontOriginAccessIdentityConfig={"CallerReference": "audio-1", "Comment": "audio bucket"}
    )
    identity = created["CloudFrontOriginAccessIdentity"]
    identity_id = identity["Id"]
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["Location"].endswith(f"/origin-access-identity/cloudfront/{identity_id}")
    assert identity_id.startswith("E") and len(identity_id) == 14
    assert len(identity["S3CanonicalUserId"]) == 64

    fetched = cloudfront.get_cloud_front_origin_access_identity(Id=identity_id)
    assert fetched["ETag"] == created["ETag"]
    assert fetched["CloudFrontOriginAccessIdentity"]["CloudFrontOriginAccessIdentityConfig"] == {
        "CallerReference": "audio-1",
        "Comment": "audio bucket",
    }
    summaries = cloudfront.list_cloud_front_origin_access_identities()["CloudFrontOriginAccessIdentityList"]["Items"]
    assert identity_id in [summary["Id"] for summary in summaries]

    with pytest.raises(ClientError) as stale:
        cloudfront.update_cloud_front_origin_access_identity(
            Id=identity_id,
            IfMatch="STALE",
            CloudFrontOriginAccessIdentityConfig={"CallerReference": "audio-1", "Comment": "renamed"},
        )
    assert stale.value.response["Error"]["Code"] == "PreconditionFailed"
    updated = cloudfront.update_cloud_front_origin_access_identity(
        Id=identity_id,
        IfMatch=fetched["ETag"],
        CloudFrontOriginAccessIdentityConfig={"CallerReference": "audio-1", "Comment": "renamed"},
    )
    config = cloudfront.get_cloud_front_origin_access_identity_config(Id=identity_id)
    assert config["CloudFrontOriginAccessIdentityConfig"]["Comment"] == "renamed"
    assert config["ETag"] == updated["ETag"] != fetched["ETag"]

    cloudfront.delete_cloud_front_origin_access_identity(Id=identity_id, IfMatch=updated["ETag"])
    with pytest.raises(ClientError) as gone:
        cloudfront.get_cloud_front_origin_access_identity(Id=identity_id)
    assert gone.value.response["Error"]["Code"] == "NoSuchCloudFrontOriginAccessIdentity"
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_distribution_returns_the_s3_origin_access_identity_it_was_given(emulator):
    cloudfront = client("cloudfront")
    path = "origin-access-identity/cloudfront/E2QWRUHEXAMPLE"
    distribution = cloudfront.create_distribution(DistributionConfig=s3_distribution_config(path))["Distribution"]

    config = cloudfront.get_distribution_config(Id=distribution["Id"])["DistributionConfig"]

    assert config["Origins"]["Items"][0]["S3OriginConfig"] == {"OriginAccessIdentity": path}


def test_distribution_on_the_default_certificate_reports_no_certificate_ids_and_vip(emulator):
    cloudfront = client("cloudfront")
    distribution = cloudfront.create_distribution(
        DistributionConfig=s3_distribution_config("", CloudFrontDefaultCertificate=True, MinimumProtocolVersion="TLSv1")
    )["Distribution"]

    config = cloudfront.get_distribution_config(Id=distribution["Id"])["DistributionConfig"]

    assert config["ViewerCertificate"] == {
        "CloudFrontDefaultCertificate": True,
        "SSLSupportMethod": "vip",
        "MinimumProtocolVersion": "TLSv1",
        "CertificateSource": "cloudfront",
    }
