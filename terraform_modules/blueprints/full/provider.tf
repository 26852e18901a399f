# With aws_endpoint_url empty, the provider talks to real AWS
# with the usual credential chain; with it set, every service goes to that one endpoint (the local
# emulator) and the checks that only real AWS can answer are skipped. The account ID is still asked
# of STS (the emulator answers): without it the provider builds ARNs with an empty account and, for
# ElastiCache, reads tags back empty on every plan. max_retries bounds the retries of a failing call
# (the provider's default, 25 with exponential backoff, keeps a run hanging for a very long time when AWS
# is unreachable); Launchpad sets it from LAUNCHPAD_AWS_MAX_RETRIES.
locals {
  emulated = var.aws_endpoint_url != ""
  endpoint = local.emulated ? var.aws_endpoint_url : null
}

provider "aws" {
  region      = var.region
  max_retries = var.aws_max_retries

  skip_credentials_validation = local.emulated
  skip_metadata_api_check     = local.emulated
  s3_force_path_style         = local.emulated

  endpoints {
    apigateway     = local.endpoint
    cloudfront     = local.endpoint
    cloudwatch     = local.endpoint
    cloudwatchlogs = local.endpoint
    dynamodb       = local.endpoint
    ec2            = local.endpoint
    ecr            = local.endpoint
    ecs            = local.endpoint
    elasticache    = local.endpoint
    iam            = local.endpoint
    kms            = local.endpoint
    rds            = local.endpoint
    s3             = local.endpoint
    secretsmanager = local.endpoint
    sqs            = local.endpoint
    ssm            = local.endpoint
    sts            = local.endpoint
    wafv2          = local.endpoint
  }
}
