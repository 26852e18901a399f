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

variable "backend_url" {
  type        = string
  default     = ""
  description = "Public base URL of the web-api origin (e.g. https://web-api.dev.example.com, optionally with a base path): a request for /<path> is proxied to <backend_url>/<path>. \"\" answers 503 from the gateway until an origin exists."

  validation {
    condition     = var.backend_url == "" || can(regex("^https?://[^/?#\\s]+(/[^?#\\s]*)?$", var.backend_url))
    error_message = "The backend_url must be \"\" or an http(s) URL without query or fragment, e.g. https://web-api.dev.example.com."
  }
}

variable "stage_name" {
  type        = string
  default     = "v1"
  description = "Name of the deployment stage; it is the first path segment of the invoke URL."

  validation {
    condition     = can(regex("^[a-zA-Z0-9_]{1,128}$", var.stage_name))
    error_message = "The stage_name must be 1-128 letters, digits and underscores."
  }
}

variable "throttling_burst_limit" {
  type        = number
  default     = 500
  description = "Largest burst of concurrent requests the stage accepts before answering 429."

  validation {
    condition     = var.throttling_burst_limit >= 0 && floor(var.throttling_burst_limit) == var.throttling_burst_limit
    error_message = "The throttling_burst_limit must be a whole number, 0 or more."
  }
}

variable "throttling_rate_limit" {
  type        = number
  default     = 1000
  description = "Steady-state requests per second the stage accepts before answering 429."

  validation {
    condition     = var.throttling_rate_limit >= 0
    error_message = "The throttling_rate_limit must be 0 or more."
  }
}

variable "log_retention_days" {
  type        = number
  default     = 30
  description = "Days CloudWatch Logs keeps the stage's access log."

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653], var.log_retention_days)
    error_message = "The log_retention_days must be one of CloudWatch Logs' values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653."
  }
}

variable "kms_key_id" {
  type        = string
  default     = null
  description = "ARN of a KMS key to encrypt the access log group with (its key policy must allow logs.<region>.amazonaws.com); null uses CloudWatch Logs' own encryption."

  validation {
    condition     = var.kms_key_id == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_id))
    error_message = "The kms_key_id must be null or a KMS key ARN (arn:aws:kms:...)."
  }
}

variable "xray_tracing_enabled" {
  type        = bool
  default     = false
  description = "Whether the stage sends X-Ray traces."
}

