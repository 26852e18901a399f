locals {
  name = "${var.name_prefix}-${var.environment}"
  tags = merge(var.tags, { Environment = var.environment, Component = "api_gateway", ManagedBy = "terraform" })

  api_name       = "${local.name}-api"
  proxied        = var.backend_url != ""
  log_group_name = "/aws/apigateway/${local.name}"

  # The routes, as one OpenAPI 3 document with API Gateway's extensions. A document (rather than
  # resource/method/integration resources) is updated in place: switching /{proxy+} from the 503
  # mock to the origin replaces a method's integration, which as separate resources would be a
  # create-before-destroy replacement (inherited from the deployment) whose "destroy" deletes the
  # integration just put on the same method.
  health_route = {
    get = {
      summary   = "Health of the gateway itself (does not call the web-api)."
      responses = { "200" = { description = "The gateway answers." } }
      x-amazon-apigateway-integration = {
        type                = "mock"
        passthroughBehavior = "when_no_match"
        requestTemplates    = { "application/json" = jsonencode({ statusCode = 200 }) }
        responses = {
          default = {
            statusCode        = "200"
            responseTemplates = { "application/json" = jsonencode({ status = "ok" }) }
          }
        }
      }
    }
  }

  proxy_parameters = [{ name = "proxy", in = "path", required = true, schema = { type = "string" } }]

  # With an origin: HTTP_PROXY passes method, path, headers and body through unchanged.
  proxy_route = {
    x-amazon-apigateway-any-method = {
      summary    = "Every other request, proxied to the web-api origin."
      parameters = local.proxy_parameters
      responses  = {}
      x-amazon-apigateway-integration = {
        type                = "http_proxy"
        httpMethod          = "ANY"
        uri                 = "${trimsuffix(var.backend_url, "/")}/{proxy}"
        passthroughBehavior = "when_no_match"
        requestParameters   = { "integration.request.path.proxy" = "method.request.path.proxy" }
      }
    }
  }

  # Without an origin (backend_url = ""): a mock answering 503 with a JSON message, so the API, its
  # stage, the WAF and the dashboards exist before the web-api has a public origin.
  unavailable_route = {
    x-amazon-apigateway-any-method = {
      summary    = "The web-api origin is not configured yet: 503."
      parameters = local.proxy_parameters
      responses  = { "503" = { description = "No web-api origin yet." } }
      x-amazon-apigateway-integration = {
        type                = "mock"
        passthroughBehavior = "when_no_match"
        requestTemplates    = { "application/json" = jsonencode({ statusCode = 503 }) }
        responses = {
          default = {
            statusCode = "503"
            responseTemplates = {
              "application/json" = jsonencode({ message = "The web-api origin of environment ${var.environment} is not configured yet." })
            }
          }
        }
      }
    }
  }

  openapi = jsonencode({
    openapi = "3.0.1"
    info = {
      title       = local.api_name
      description = local.description
      version     = "1.0"
    }
    # "for ... if" picks one of two differently shaped routes (a conditional needs one type).
    paths = merge(
      { "/health" = local.health_route },
      { for path, route in { "/{proxy+}" = local.proxy_route } : path => route if local.proxied },
      { for path, route in { "/{proxy+}" = local.unavailable_route } : path => route if !local.proxied },
    )
  })

  description = "Public entry point of the Spotmusic web API (${var.environment})."

  # One JSON object per request; $context.requestId lets a client's report be found in the log.
  access_log_format = jsonencode({
    requestId          = "$context.requestId"
    extendedRequestId  = "$context.extendedRequestId"
    requestTime        = "$context.requestTime"
    sourceIp           = "$context.identity.sourceIp"
    userAgent          = "$context.identity.userAgent"
    httpMethod         = "$context.httpMethod"
    resourcePath       = "$context.resourcePath"
    path               = "$context.path"
    protocol           = "$context.protocol"
    status             = "$context.status"
    responseLength     = "$context.responseLength"
    responseLatency    = "$context.responseLatency"
    integrationStatus  = "$context.integration.status"
    integrationLatency = "$context.integration.latency"
    wafResponseCode    = "$context.wafResponseCode"
    errorMessage       = "$context.error.message"
  })
}

data "aws_partition" "current" {}

resource "aws_api_gateway_rest_api" "this" {
  name        = local.api_name
  description = local.description
  body        = local.openapi

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  tags = merge(local.tags, { Name = local.api_name })
}

# A deployment is a snapshot of the routes: a new one is taken whenever the document changes, and
# it exists before the stage moves to it and the old one goes.
resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  description = "Routes of ${local.api_name}"

  triggers = {
    redeployment = sha1(aws_api_gateway_rest_api.this.body)
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudwatch_log_group" "access" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_id

  tags = merge(local.tags, { Name = local.log_group_name })
}

resource "aws_api_gateway_stage" "this" {
  rest_api_id          = aws_api_gateway_rest_api.this.id
  deployment_id        = aws_api_gateway_deployment.this.id
  stage_name           = var.stage_name
  xray_tracing_enabled = var.xray_tracing_enabled

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format          = local.access_log_format
  }

  tags = merge(local.tags, { Name = "${local.api_name}-${var.stage_name}" })
}

# Metrics and throttling for every method. Execution logging (logging_level) stays off: the access
# log above records every request, and execution logs at INFO copy request details into CloudWatch.
resource "aws_api_gateway_method_settings" "all" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    logging_level          = "OFF"
    throttling_burst_limit = var.throttling_burst_limit
    throttling_rate_limit  = var.throttling_rate_limit
  }
}
