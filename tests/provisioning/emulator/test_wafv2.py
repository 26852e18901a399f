"""The emulator's WAFv2 lists what a web ACL protects, as AWS does (the audit's "not associated" rule reads it)."""

from __future__ import annotations

from provisioning.aws import client

VISIBILITY = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "listed"}


def test_resources_of_a_web_acl_are_listed_by_resource_type(emulator):
    apigateway, wafv2 = client("apigateway"), client("wafv2")
    api_id = apigateway.create_rest_api(name="listed-api")["id"]
    root_id = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    apigateway.put_method(restApiId=api_id, resourceId=root_id, httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(restApiId=api_id, resourceId=root_id, httpMethod="GET", type="MOCK")
    deployment_id = apigateway.create_deployment(restApiId=api_id)["id"]
    apigateway.create_stage(restApiId=api_id, stageName="live", deploymentId=deployment_id)
    stage_arn = f"arn:aws:apigateway:eu-west-1::/restapis/{api_id}/stages/live"
    web_acl = wafv2.create_web_acl(
        Name="listed", Scope="REGIONAL", DefaultAction={"Allow": {}}, VisibilityConfig=VISIBILITY
    )["Summary"]
    unused = wafv2.create_web_acl(
        Name="listed-unused", Scope="REGIONAL", DefaultAction={"Allow": {}}, VisibilityConfig=VISIBILITY
    )["Summary"]

    wafv2.associate_web_acl(WebACLArn=web_acl["ARN"], ResourceArn=stage_arn)

    listed = wafv2.list_resources_for_web_acl(WebACLArn=web_acl["ARN"], ResourceType="API_GATEWAY")
    assert listed["ResourceArns"] == [stage_arn]
    # No type: AWS answers for application load balancers.
    assert wafv2.list_resources_for_web_acl(WebACLArn=web_acl["ARN"])["ResourceArns"] == []
    assert wafv2.list_resources_for_web_acl(WebACLArn=unused["ARN"], ResourceType="API_GATEWAY")["ResourceArns"] == []
