"""CloudFront fidelity patches: origin access identities, S3 origins and the default certificate as AWS has them."""

from __future__ import annotations

import hashlib
from typing import Any

from moto.cloudfront import models, urls
from moto.cloudfront.exceptions import CloudFrontException, InvalidIfMatchVersion
from moto.cloudfront.responses import CloudFrontResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.moto_api._internal import mock_random

from provisioning.emulator.patches import fidelity_patch

_IDENTITY_PATH_PREFIX = "origin-access-identity/cloudfront/"


class _OriginAccessIdentity:
    """One CloudFront origin access identity (the shapes of the CloudFront API 2020-05-31)."""

    def __init__(self, caller_reference: str, comment: str) -> None:
        self.id = "E" + "".join(mock_random.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(13))
        # AWS gives each identity an S3 canonical user ID: 64 hexadecimal characters.
        self.s3_canonical_user_id = hashlib.sha256(f"cloudfront-oai-{self.id}".encode()).hexdigest()
        self.caller_reference = caller_reference
        self.comment = comment
        self.etag = models.random_id()

    @property
    def config(self) -> dict[str, str]:
        return {"CallerReference": self.caller_reference, "Comment": self.comment}

    @property
    def shape(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "S3CanonicalUserId": self.s3_canonical_user_id,
            "CloudFrontOriginAccessIdentityConfig": self.config,
        }

    @property
    def summary(self) -> dict[str, str]:
        return {"Id": self.id, "S3CanonicalUserId": self.s3_canonical_user_id, "Comment": self.comment}

    @property
    def location(self) -> str:
        return f"https://cloudfront.amazonaws.com/2020-05-31/origin-access-identity/cloudfront/{self.id}"


class _NoSuchIdentity(CloudFrontException):
    def __init__(self) -> None:
        super().__init__("NoSuchCloudFrontOriginAccessIdentity", "The specified origin access identity does not exist.")


class _IdentityAlreadyExists(CloudFrontException):
    def __init__(self) -> None:
        super().__init__(
            "CloudFrontOriginAccessIdentityAlreadyExists",
            "If the CallerReference is a value you already sent in a previous request to create an identity "
            "but the content of the CloudFrontOriginAccessIdentityConfig is different from the original request, "
            "CloudFront returns a CloudFrontOriginAccessIdentityAlreadyExists error.",
        )


class _IdentityInUse(CloudFrontException):
    def __init__(self) -> None:
        super().__init__(
            "CloudFrontOriginAccessIdentityInUse", "The Origin Access Identity specified is already in use."
        )


class _PreconditionFailed(CloudFrontException):
    def __init__(self) -> None:
        super().__init__("PreconditionFailed", "The If-Match version is missing or not valid for the resource.")


class _IllegalUpdate(CloudFrontException):
    def __init__(self) -> None:
        super().__init__("IllegalUpdate", "The CallerReference of an origin access identity cannot be changed.")


def _identities(backend: models.CloudFrontBackend) -> dict[str, _OriginAccessIdentity]:
    # Kept in the backend's own __dict__ so that moto's reset (which rebuilds __dict__) forgets them too.
    return backend.__dict__.setdefault("origin_access_identities", {})


def _identity(backend: models.CloudFrontBackend, identity_id: str) -> _OriginAccessIdentity:
    identity = _identities(backend).get(identity_id)
    if identity is None:
        raise _NoSuchIdentity()
    return identity


def _check_if_match(identity: _OriginAccessIdentity, if_match: str | None) -> None:
    if not if_match:
        raise InvalidIfMatchVersion()
    if if_match != identity.etag:
        raise _PreconditionFailed()


def _create(self: CloudFrontResponse) -> ActionResult:
    config = self._get_param("CloudFrontOriginAccessIdentityConfig", {})
    caller_reference, comment = config.get("CallerReference") or "", config.get("Comment") or ""
    identities = _identities(self.backend)
    existing = next((i for i in identities.values() if i.caller_reference == caller_reference), None)
    if existing is not None and existing.comment != comment:
        raise _IdentityAlreadyExists()
    identity = existing or _OriginAccessIdentity(caller_reference, comment)
    identities[identity.id] = identity
    return ActionResult(
        {"CloudFrontOriginAccessIdentity": identity.shape, "Location": identity.location, "ETag": identity.etag}
    )


def _get(self: CloudFrontResponse) -> ActionResult:
    identity = _identity(self.backend, self._get_param("Id"))
    return ActionResult({"CloudFrontOriginAccessIdentity": identity.shape, "ETag": identity.etag})


def _get_config(self: CloudFrontResponse) -> ActionResult:
    identity = _identity(self.backend, self._get_param("Id"))
    return ActionResult({"CloudFrontOriginAccessIdentityConfig": identity.config, "ETag": identity.etag})


def _update(self: CloudFrontResponse) -> ActionResult:
    identity = _identity(self.backend, self._get_param("Id"))
    _check_if_match(identity, self._get_param("IfMatch"))
    config = self._get_param("CloudFrontOriginAccessIdentityConfig", {})
    if (config.get("CallerReference") or "") != identity.caller_reference:
        raise _IllegalUpdate()
    identity.comment = config.get("Comment") or ""
    identity.etag = models.random_id()
    return ActionResult({"CloudFrontOriginAccessIdentity": identity.shape, "ETag": identity.etag})


def _delete(self: CloudFrontResponse) -> EmptyResult:
    identity = _identity(self.backend, self._get_param("Id"))
    _check_if_match(identity, self._get_param("IfMatch"))
    path = _IDENTITY_PATH_PREFIX + identity.id
    for distribution in self.backend.distributions.values():
        for origin in distribution.distribution_config.Origins["Items"]:
            if origin.s3_access_identity == path:
                raise _IdentityInUse()
    del _identities(self.backend)[identity.id]
    return EmptyResult()


def _list(self: CloudFrontResponse) -> ActionResult:
    marker = self._get_param("Marker") or ""
    max_items = self._get_int_param("MaxItems") or 100
    ordered = sorted(_identities(self.backend).values(), key=lambda i: i.id)
    remaining = [i for i in ordered if i.id > marker] if marker else ordered
    page, rest = remaining[:max_items], remaining[max_items:]
    result = {
        "Marker": marker,
        "MaxItems": max_items,
        "IsTruncated": bool(rest),
        "Quantity": len(page),
        "Items": [i.summary for i in page] or None,
    }
    if rest:
        result["NextMarker"] = page[-1].id
    return ActionResult({"CloudFrontOriginAccessIdentityList": result})


@fidelity_patch
def origin_access_identity_api() -> None:
    """CloudFront serves the origin access identity API: Create/Get/GetConfig/Update/Delete/List, with ETags.

    moto 5.2.5 has no route for /2020-05-31/origin-access-identity/cloudfront, so every call answers 404
    and hashicorp/aws retries CreateCloudFrontOriginAccessIdentity until it times out. As on AWS: the ID is
    E + 13 characters, each identity has a 64-hex S3CanonicalUserId, the same CallerReference with the same
    config returns the existing identity (with another config: CloudFrontOriginAccessIdentityAlreadyExists),
    Update and Delete need the current ETag as If-Match (missing: InvalidIfMatchVersion, stale:
    PreconditionFailed) and Delete refuses an identity an S3 origin still uses
    (CloudFrontOriginAccessIdentityInUse).
    """
    base = "{0}/2020-05-31/origin-access-identity/cloudfront"
    urls.url_paths[base + "$"] = CloudFrontResponse.dispatch
    urls.url_paths[base + "/(?P<oai_id>[^/]+)$"] = CloudFrontResponse.dispatch
    urls.url_paths[base + "/(?P<oai_id>[^/]+)/config$"] = CloudFrontResponse.dispatch
    CloudFrontResponse.create_cloud_front_origin_access_identity = _create
    CloudFrontResponse.get_cloud_front_origin_access_identity = _get
    CloudFrontResponse.get_cloud_front_origin_access_identity_config = _get_config
    CloudFrontResponse.update_cloud_front_origin_access_identity = _update
    CloudFrontResponse.delete_cloud_front_origin_access_identity = _delete
    CloudFrontResponse.list_cloud_front_origin_access_identities = _list


@fidelity_patch
def s3_origin_keeps_origin_access_identity() -> None:
    """A distribution's S3 origin keeps and returns its S3OriginConfig (OriginAccessIdentity).

    moto reads S3OriginConfig into an attribute its serializer never looks at, so GetDistribution returns
    S3 origins without S3OriginConfig and Terraform plans to replace the origin on every run.
    """
    original_init = models.Origin.__init__

    def __init__(self: models.Origin, origin: dict[str, Any]) -> None:
        original_init(self, origin)
        if "S3OriginConfig" in origin:
            self.s3_origin_config = {"OriginAccessIdentity": self.s3_access_identity or ""}

    models.Origin.__init__ = __init__


@fidelity_patch
def default_certificate_viewer_settings() -> None:
    """With CloudFrontDefaultCertificate, CloudFront returns no certificate IDs and SSLSupportMethod "vip".

    AWS answers a distribution on the *.cloudfront.net certificate with ViewerCertificate =
    {CloudFrontDefaultCertificate: true, SSLSupportMethod: vip, MinimumProtocolVersion: <given, default TLSv1>,
    CertificateSource: cloudfront} and no IAMCertificateId, ACMCertificateArn or Certificate. moto returns those
    three as empty strings and SSLSupportMethod "sni-only"; an IAMCertificateId element, even empty, makes
    hashicorp/aws read ssl_support_method = "sni-only" and plan a change on every run. With a custom
    certificate the given IAM or ACM certificate is echoed as given, with its CertificateSource.
    """
    original_init = models.ViewerCertificate.__init__

    def __init__(self: models.ViewerCertificate, config: dict[str, Any]) -> None:
        original_init(self, config)
        iam_certificate_id = config.get("IAMCertificateId") or None
        acm_certificate_arn = config.get("ACMCertificateArn") or None
        self.iam_certificate_id = iam_certificate_id
        self.acm_certificate_arn = acm_certificate_arn
        if iam_certificate_id is None and acm_certificate_arn is None:
            self.cloud_front_default_certificate = True
            self.ssl_support_method = "vip"
            self.certificate = None
            self.certificate_source = "cloudfront"
        else:
            self.cloud_front_default_certificate = False
            self.certificate = acm_certificate_arn or iam_certificate_id
            self.certificate_source = "acm" if acm_certificate_arn else "iam"

    models.ViewerCertificate.__init__ = __init__
