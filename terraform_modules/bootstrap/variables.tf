variable "name" {
  type        = string
  description = "Name of this state store, used in the bucket and table names."
  default     = "launchpad"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,19}$", var.name))
    error_message = "The name must be 3-20 characters: lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "name_prefix" {
  type        = string
  description = "Prefix of the bucket and table names."
  default     = "spotmusic"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.name_prefix))
    error_message = "The name prefix must be 2-16 characters: lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "bucket_name" {
  type        = string
  description = "Name of the state bucket (S3 names are global: set one your account owns). Empty: <prefix>-<name>-tfstate."
  default     = ""
}

variable "lock_table_name" {
  type        = string
  description = "Name of the DynamoDB lock table. Empty: <prefix>-<name>-tflock."
  default     = ""
}

variable "manage_api_gateway_logging_role" {
  type        = bool
  description = "Create the account's API Gateway CloudWatch logging role and register it for this region. Turn off only where the account already has one."
  default     = true
}

variable "region" {
  type        = string
  description = "AWS region the environment lives in."
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "The region must be an AWS region name such as eu-west-1."
  }
}

variable "aws_endpoint_url" {
  type        = string
  description = "One endpoint for every AWS service (the local emulator, e.g. http://127.0.0.1:4566). Empty means real AWS."
  default     = ""

  validation {
    condition     = var.aws_endpoint_url == "" || can(regex("^https?://[^\\s]+$", var.aws_endpoint_url))
    error_message = "The AWS endpoint must be empty (real AWS) or an http(s) URL."
  }
}

variable "aws_max_retries" {
  type        = number
  description = "How many times the provider retries a failing AWS call (with exponential backoff) before the run fails: small enough that an unreachable endpoint ends the run in reasonable time."
  default     = 25

  validation {
    condition     = can(regex("^[0-9]+$", tostring(var.aws_max_retries))) && var.aws_max_retries <= 100
    error_message = "The AWS max retries must be a whole number from 0 to 100."
  }
}
