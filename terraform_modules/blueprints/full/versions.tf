# Terraform and provider versions, and the S3 backend: its settings (bucket, key, region, dynamodb_table,
# endpoints) are given at `terraform init` with -backend-config, never hard-coded here.
terraform {
  required_version = ">= 1.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 3.39.0, < 4.0.0"
    }
  }

  backend "s3" {}
}
