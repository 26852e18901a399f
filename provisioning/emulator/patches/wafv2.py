"""WAFv2 fidelity patches: the resources a web ACL protects can be listed, as the audit needs."""

from __future__ import annotations

import json
import re

from moto.core.common_types import TYPE_RESPONSE
from moto.wafv2.exceptions import WAFNonexistentItemException
from moto.wafv2.responses import WAFV2Response

from provisioning.emulator.patches import fidelity_patch

# The ARN of each resource type a regional web ACL can be associated with (ListResourcesForWebACL's ResourceType).
RESOURCE_ARN_PATTERNS = {
    "APPLICATION_LOAD_BALANCER": re.compile(r"^arn:[^:]+:elasticloadbalancing:[^:]*:[^:]*:loadbalancer/app/"),
    "API_GATEWAY": re.compile(r"^arn:[^:]+:apigateway:[^:]*::/restapis/[^/]+/stages/"),
    "APPSYNC": re.compile(r"^arn:[^:]+:appsync:[^:]*:[^:]*:apis/"),
    "COGNITO_USER_POOL": re.compile(r"^arn:[^:]+:cognito-idp:[^:]*:[^:]*:userpool/"),
    "APP_RUNNER_SERVICE": re.compile(r"^arn:[^:]+:apprunner:[^:]*:[^:]*:service/"),
    "VERIFIED_ACCESS_INSTANCE": re.compile(r"^arn:[^:]+:ec2:[^:]*:[^:]*:verified-access-instance/"),
    "AMPLIFY": re.compile(r"^arn:[^:]+:amplify:[^:]*:[^:]*:apps/"),
}


@fidelity_patch
def list_resources_for_web_acl() -> None:
    """ListResourcesForWebACL returns the ARNs of the regional resources of one type a web ACL is associated with.

    AWS answers with ``ResourceArns`` for the given ``ResourceType`` (APPLICATION_LOAD_BALANCER when none is
    given) and WAFNonexistentItemException for an unknown web ACL. moto 5.2.5 records associations
    (AssociateWebACL, GetWebACLForResource work) but answers this call with HTTP 500 "not implemented", so
    the audit could not tell a web ACL that protects nothing from one in front of the API.
    """

    def list_resources_for_web_acl(self: WAFV2Response) -> TYPE_RESPONSE:
        body = json.loads(self.body or "{}")
        web_acl = self.wafv2_backend.wacls.get(body.get("WebACLArn", ""))
        if web_acl is None:
            raise WAFNonexistentItemException()
        pattern = RESOURCE_ARN_PATTERNS.get(body.get("ResourceType") or "APPLICATION_LOAD_BALANCER")
        arns = [arn for arn in web_acl.associated_resources if pattern is not None and pattern.match(arn)]
        return 200, {"Content-Type": "application/json"}, json.dumps({"ResourceArns": arns})

    WAFV2Response.list_resources_for_web_acl = list_resources_for_web_acl
