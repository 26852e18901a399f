"""The emulator's API Gateway behaves as AWS documents where the api_gateway module depends on it."""

from __future__ import annotations

import json

from provisioning.aws import client

OPENAPI = {
    "openapi": "3.0.1",
    "info": {"title": "openapi-extensions", "version": "1.0"},
    "paths": {
        "/health": {
            "get": {
                "responses": {"200": {"description": "up"}},
                "x-amazon-apigateway-integration": {
                    "type": "mock",
                    "requestTemplates": {"application/json": '{"statusCode":200}'},
                    "responses": {"default": {"statusCode": "200"}},
                },
            }
        },
        "/{proxy+}": {
            "x-amazon-apigateway-any-method": {
                "parameters": [{"name": "proxy", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {},
                "x-amazon-apigateway-integration": {
                    "type": "http_proxy",
                    "httpMethod": "ANY",
                    "uri": "https://origin.example.com/{proxy}",
                    "requestParameters": {"integration.request.path.proxy": "method.request.path.proxy"},
                },
            }
        },
    },
}


def test_openapi_body_with_mock_integration_and_any_method_is_imported(emulator):
    apigateway = client("apigateway")
    api_id = apigateway.create_rest_api(name="openapi-extensions")["id"]

    apigateway.put_rest_api(restApiId=api_id, mode="overwrite", body=json.dumps(OPENAPI).encode())

    resources = {item["path"]: item for item in apigateway.get_resources(restApiId=api_id)["items"]}
    health = apigateway.get_integration(restApiId=api_id, resourceId=resources["/health"]["id"], httpMethod="GET")
    proxy = apigateway.get_integration(restApiId=api_id, resourceId=resources["/{proxy+}"]["id"], httpMethod="ANY")
    assert health["type"] == "MOCK"
    assert proxy["type"] == "HTTP_PROXY"
    assert proxy["uri"] == "https://origin.example.com/{proxy}"
    assert set(resources["/{proxy+}"]["resourceMethods"]) == {"ANY"}
