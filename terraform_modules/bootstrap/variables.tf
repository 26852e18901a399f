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
