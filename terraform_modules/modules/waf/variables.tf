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

variable "scope" {
  type        = string
  default     = "REGIONAL"
  description = "REGIONAL protects regional resources (API Gateway stages, load balancers) in the provider's region; CLOUDFRONT protects CloudFront distributions and must be created in us-east-1."

  validation {
    condition     = contains(["REGIONAL", "CLOUDFRONT"], var.scope)
    error_message = "The scope must be REGIONAL or CLOUDFRONT."
  }
}

variable "rate_limit" {
  type        = number
  default     = 2000
  description = "Requests one client IP may send in any 5-minute window before the rate rule blocks it."

  validation {
    condition     = var.rate_limit >= 100 && var.rate_limit <= 2000000000 && floor(var.rate_limit) == var.rate_limit
    error_message = "The rate_limit must be a whole number from 100 to 2000000000."
  }
}

variable "common_rule_set_excluded_rules" {
  type        = list(string)
  default     = []
  description = "Rules of AWSManagedRulesCommonRuleSet to count instead of block (e.g. SizeRestrictions_BODY for an API that accepts bodies over 8 KB)."

  validation {
    condition     = alltrue([for rule in var.common_rule_set_excluded_rules : can(regex("^[A-Za-z0-9_]{1,128}$", rule))])
    error_message = "The common_rule_set_excluded_rules must be rule names of the AWS managed common rule set (letters, digits, underscores)."
  }
}

variable "associate" {
  type        = bool
  default     = true
  description = "Whether to associate the web ACL with resource_arn. Must be known at plan time (a literal, not a resource attribute)."
}

variable "resource_arn" {
  type        = string
  default     = ""
  description = "ARN of the resource the web ACL protects when associate is true, e.g. the api_gateway module's stage_arn (arn:aws:apigateway:<region>::/restapis/<id>/stages/<stage>)."

  validation {
    condition     = var.resource_arn == "" || can(regex("^arn:aws[a-z-]*:", var.resource_arn))
    error_message = "The resource_arn must be \"\" or an ARN (arn:aws:...)."
  }
}

variable "log_retention_days" {
  type        = number
  default     = 30
  description = "Days CloudWatch Logs keeps the WAF request log."

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653], var.log_retention_days)
    error_message = "The log_retention_days must be one of CloudWatch Logs' values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653."
  }
}

variable "kms_key_id" {
  type        = string
  default     = null
  description = "ARN of a KMS key to encrypt the WAF log group with (its key policy must allow logs.<region>.amazonaws.com); null uses CloudWatch Logs' own encryption."

  validation {
    condition     = var.kms_key_id == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_id))
    error_message = "The kms_key_id must be null or a KMS key ARN (arn:aws:kms:...)."
  }
}
