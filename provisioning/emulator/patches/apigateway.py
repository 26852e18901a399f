"""API Gateway fidelity patches: OpenAPI definitions imported as API Gateway imports them."""

from __future__ import annotations

import copy
from typing import Any

from moto.apigateway import models
from moto.apigateway.exceptions import InvalidOpenAPIDocumentException

from provisioning.emulator.patches import fidelity_patch

_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch"}


def _as_api_gateway_reads_it(api_doc: dict[str, Any]) -> dict[str, Any]:
    """The document with each path reduced to its methods, as API Gateway's importer reads it."""
    document = copy.deepcopy(api_doc)
    for path, path_item in (document.get("paths") or {}).items():
        methods: dict[str, Any] = {}
        for key, operation in path_item.items():
            # Path-level "parameters", "summary", "servers"... are not methods.
            if key.lower() == "x-amazon-apigateway-any-method":
                methods["ANY"] = operation
            elif key.lower() in _HTTP_METHODS:
                methods[key] = operation
        for operation in methods.values():
            integration = operation.get("x-amazon-apigateway-integration")
            if integration:
                # The extension's enumerations are case-insensitive; API Gateway stores them upper-case.
                for field in ("type", "passthroughBehavior"):
                    if isinstance(integration.get(field), str):
                        integration[field] = integration[field].upper()
        document["paths"][path] = methods
    return document


@fidelity_patch
def import_openapi_extensions() -> None:
    """PutRestApi imports API Gateway's OpenAPI extensions: mock integrations without a uri, the ANY method.

    API Gateway accepts ``x-amazon-apigateway-integration`` of type ``mock`` with no ``uri`` or ``httpMethod``,
    imports ``x-amazon-apigateway-any-method`` as the ANY method, and stores integration types upper-case.
    moto 5.2.5 fails the whole PutRestApi with a TypeError (HTTP 500) on a mock integration, so Terraform
    retries an aws_api_gateway_rest_api ``body`` forever, and it creates a method literally named
    "X-AMAZON-APIGATEWAY-ANY-METHOD".
    """
    backend = models.APIGatewayBackend
    original_put_rest_api = backend.put_rest_api
    original_put_integration = backend.put_integration

    def put_rest_api(
        self: models.APIGatewayBackend,
        function_id: str,
        api_doc: dict[str, Any],
        fail_on_warnings: bool,
        mode: str = "merge",
    ) -> models.RestAPI:
        if fail_on_warnings:
            # Validate what the caller sent; the reduced document is no longer plain OpenAPI.
            try:
                models.validate(api_doc)
            except models.OpenAPIValidationError as error:
                raise InvalidOpenAPIDocumentException(error) from error
        return original_put_rest_api(self, function_id, _as_api_gateway_reads_it(api_doc), False, mode)

    def put_integration(
        self: models.APIGatewayBackend,
        function_id: str,
        resource_id: str,
        method_type: str,
        integration_type: str,
        uri: str | None = None,
        integration_method: str | None = None,
        **options: Any,
    ) -> models.Integration:
        return original_put_integration(
            self, function_id, resource_id, method_type, integration_type, uri, integration_method, **options
        )

    backend.put_rest_api = put_rest_api
    backend.put_integration = put_integration
