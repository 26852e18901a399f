# Shared by every root module (symlinked): where the AWS provider points.

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
