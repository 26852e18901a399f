# Bootstrap: the S3 bucket and DynamoDB lock table that hold every blueprint's Terraform state.
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
