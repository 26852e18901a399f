variable "environment" {
  type        = string
  description = "Name of the Spotmusic environment (3-20 chars: lowercase letters, digits, hyphens; starts with a letter)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,19}$", var.environment))
    error_message = "The environment must be 3-20 characters: lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "name_prefix" {
  type        = string
  default     = "spotmusic"
  description = "Prefix of every resource name."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.name_prefix))
    error_message = "The name_prefix must be 2-16 characters: lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Extra tags added to every resource."
}

variable "bucket_name" {
  type        = string
  default     = ""
  description = "Name of the S3 bucket holding the Terraform state; empty means \"<name_prefix>-<environment>-tfstate\"."

  validation {
    condition = var.bucket_name == "" || (
      can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name)) &&
      !can(regex("\\.\\.|\\.-|-\\.", var.bucket_name)) &&
      !can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$", var.bucket_name)) &&
      !can(regex("^xn--|-s3alias$", var.bucket_name))
    )
    error_message = "The bucket_name must be empty or a valid S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit, not an IP address."
  }
}

variable "lock_table_name" {
  type        = string
  default     = ""
  description = "Name of the DynamoDB table holding the state locks; empty means \"<name_prefix>-<environment>-tflock\"."

  validation {
    condition     = var.lock_table_name == "" || can(regex("^[a-zA-Z0-9_.-]{3,255}$", var.lock_table_name))
    error_message = "The lock_table_name must be empty or 3-255 characters: letters, digits, underscores, dots and hyphens."
  }
}

variable "kms_key_arn" {
  type        = string
  default     = ""
  description = "ARN of a customer managed KMS key encrypting the bucket (aws:kms) and the lock table; empty means SSE-S3 (AES256) for the bucket and the AWS managed key for the table."

  validation {
    condition     = var.kms_key_arn == "" || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.kms_key_arn))
    error_message = "The kms_key_arn must be empty or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key-id>)."
  }
}

variable "force_destroy" {
  type        = bool
  default     = false
  description = "Whether destroying the module deletes the bucket even though it still holds state files (and all their versions)."
}

variable "noncurrent_version_expiration_days" {
  type        = number
  default     = 90
  description = "Days a superseded state version is kept before it expires."

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "The noncurrent_version_expiration_days must be a whole number of at least 1."
  }
}
