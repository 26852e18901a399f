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
