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

variable "visibility_timeout_seconds" {
  type        = number
  default     = 300
  description = "Seconds a received message stays hidden from other consumers; longer than a worker needs for one message."

  validation {
    condition     = var.visibility_timeout_seconds >= 0 && var.visibility_timeout_seconds <= 43200 && floor(var.visibility_timeout_seconds) == var.visibility_timeout_seconds
    error_message = "The visibility_timeout_seconds must be a whole number from 0 to 43200 (12 hours)."
  }
}

variable "message_retention_seconds" {
  type        = number
  default     = 345600
  description = "Seconds the work queue keeps an unprocessed message (default 4 days); the dead-letter queue always keeps 14 days."

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600 && floor(var.message_retention_seconds) == var.message_retention_seconds
    error_message = "The message_retention_seconds must be a whole number from 60 (1 minute) to 1209600 (14 days)."
  }
}

variable "max_receive_count" {
  type        = number
  default     = 5
  description = "Receives of one message before SQS moves it to the dead-letter queue."

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "The max_receive_count must be a whole number from 1 to 1000."
  }
}

variable "kms_master_key_id" {
  type        = string
  default     = "alias/aws/sqs"
  description = "KMS key (ARN, ID or alias) for server-side encryption of both queues; the default is the AWS managed key for SQS."

  validation {
    condition     = length(var.kms_master_key_id) > 0
    error_message = "The kms_master_key_id must not be empty: both queues are always encrypted."
  }
}
