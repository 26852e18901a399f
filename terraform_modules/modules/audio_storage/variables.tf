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
  description = "Name of the audio bucket; empty means \"<name_prefix>-<environment>-audio\"."

  validation {
    condition = var.bucket_name == "" || (
      can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name)) &&
      !can(regex("\\.\\.|\\.-|-\\.", var.bucket_name)) &&
      !can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$", var.bucket_name)) &&
      !can(regex("^xn--", var.bucket_name))
    )
    error_message = "The bucket_name must be empty or a valid S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit, not an IP address, no \"..\"."
  }
}

variable "force_destroy" {
  type        = bool
  default     = false
  description = "Whether destroying the module deletes the bucket even when it still holds objects (every version is lost)."
}

variable "kms_key_arn" {
  type        = string
  default     = ""
  description = "ARN of the KMS key that encrypts objects (SSE-KMS); empty means SSE-S3 (AES256)."

  validation {
    condition     = var.kms_key_arn == "" || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.kms_key_arn))
    error_message = "The kms_key_arn must be empty or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key-id>)."
  }
}

variable "transition_to_ia_days" {
  type        = number
  default     = 30
  description = "Days after creation before current object versions move to STANDARD_IA (S3 requires at least 30)."

  validation {
    condition     = var.transition_to_ia_days >= 30 && floor(var.transition_to_ia_days) == var.transition_to_ia_days
    error_message = "The transition_to_ia_days must be a whole number of days, at least 30 (S3's minimum for STANDARD_IA)."
  }
}

variable "transition_to_glacier_days" {
  type        = number
  default     = 180
  description = "Days after creation before current object versions move to GLACIER; objects must stay at least 30 days in STANDARD_IA first, so use at least transition_to_ia_days + 30."

  validation {
    condition     = var.transition_to_glacier_days >= 60 && floor(var.transition_to_glacier_days) == var.transition_to_glacier_days
    error_message = "The transition_to_glacier_days must be a whole number of days, at least 60."
  }
}

variable "noncurrent_version_expiration_days" {
  type        = number
  default     = 90
  description = "Days after an object version stops being current before S3 deletes it."

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "The noncurrent_version_expiration_days must be a whole number of days, at least 1."
  }
}

variable "reader_iam_arns" {
  type        = list(string)
  default     = []
  description = "IAM ARNs allowed to read objects (s3:GetObject), e.g. the CloudFront origin access identity's iam_arn. Values may be unknown until apply; only the list's length must be known at plan time."
}
