# Bootstrap: the S3 bucket and DynamoDB lock table that hold every blueprint's Terraform state, and the
# account-level API Gateway logging role every environment's API stage needs.
# Applied once per account and region, before the first environment, with local state (the
# backend it creates cannot hold its own state before it exists). Launchpad runs it itself.

terraform {
  required_version = ">= 1.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 3.39.0, < 4.0.0"
    }
  }
}

module "state_backend" {
  source = "../modules/state_backend"

  environment     = var.name
  name_prefix     = var.name_prefix
  bucket_name     = var.bucket_name
  lock_table_name = var.lock_table_name
  tags            = { Purpose = "launchpad-terraform-state" }
}

data "aws_partition" "current" {}

# API Gateway writes CloudWatch logs (access logs included) through one role per account and region:
# without it, creating a stage with access logging fails. One owner only, so it lives here.
resource "aws_iam_role" "api_gateway_logging" {
  count = var.manage_api_gateway_logging_role ? 1 : 0

  name        = "${var.name_prefix}-${var.name}-apigateway-cloudwatch"
  description = "Lets API Gateway write CloudWatch logs in this account and region."
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "apigateway.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = { Purpose = "launchpad-api-gateway-logging", ManagedBy = "terraform" }
}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

# What AWS's managed AmazonAPIGatewayPushToCloudWatchLogs allows, scoped to this account's and
# region's log groups instead of "*".
resource "aws_iam_role_policy" "api_gateway_logging" {
  count = var.manage_api_gateway_logging_role ? 1 : 0

  name = "push-to-cloudwatch-logs"
  role = aws_iam_role.api_gateway_logging[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect = "Allow"
      Action = [
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:DescribeLogGroups",
        "logs:DescribeLogStreams",
        "logs:PutLogEvents",
        "logs:GetLogEvents",
        "logs:FilterLogEvents",
      ]
      Resource = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:*"
    }]
  })
}

resource "aws_api_gateway_account" "this" {
  count = var.manage_api_gateway_logging_role ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.api_gateway_logging[0].arn

  depends_on = [aws_iam_role_policy.api_gateway_logging]
}
