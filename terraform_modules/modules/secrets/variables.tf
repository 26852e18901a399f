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

variable "db_username" {
  type        = string
  default     = "spotmusic"
  description = "MySQL user name stored in the database secret."

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_]{0,15}$", var.db_username))
    error_message = "The db_username must be 1-16 letters, digits and underscores, starting with a letter."
  }
}

variable "db_password" {
  type        = string
  sensitive   = true
  description = "MySQL password stored in the database secret (at least 16 characters)."

  validation {
    condition     = length(var.db_password) >= 16
    error_message = "The db_password must be at least 16 characters long."
  }
}

variable "db_name" {
  type        = string
  default     = "spotmusic"
  description = "MySQL database (schema) name stored in the database secret."

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_]{0,63}$", var.db_name))
    error_message = "The db_name must be 1-64 letters, digits and underscores, starting with a letter."
  }
}

variable "db_host" {
  type        = string
  default     = ""
  description = "Host name of the MySQL server stored in the database secret; empty when not known yet."
}

variable "db_port" {
  type        = number
  default     = 3306
  description = "TCP port of the MySQL server stored in the database secret."

  validation {
    condition     = var.db_port >= 1 && var.db_port <= 65535 && floor(var.db_port) == var.db_port
    error_message = "The db_port must be a whole number from 1 to 65535."
  }
}

variable "kms_key_id" {
  type        = string
  default     = null
  description = "ARN, ID or alias of the KMS key encrypting the database secret; null means the AWS managed key aws/secretsmanager."
}

variable "recovery_window_in_days" {
  type        = number
  default     = 7
  description = "Days Secrets Manager keeps a deleted secret recoverable: 0 deletes it at once, otherwise 7-30."

  validation {
    condition     = var.recovery_window_in_days == 0 || (var.recovery_window_in_days >= 7 && var.recovery_window_in_days <= 30 && floor(var.recovery_window_in_days) == var.recovery_window_in_days)
    error_message = "The recovery_window_in_days must be 0 (delete at once) or a whole number from 7 to 30."
  }
}

variable "parameters" {
  type        = map(string)
  default     = {}
  description = "Plain configuration values stored as SSM String parameters; each key is a path relative to /<name_prefix>/<environment>/ (e.g. \"api/log_level\")."

  validation {
    condition     = alltrue([for key in keys(var.parameters) : can(regex("^[a-zA-Z0-9_.-]+(/[a-zA-Z0-9_.-]+)*$", key))])
    error_message = "Every key of parameters must be a relative path of letters, digits, \"_\", \".\" and \"-\" separated by \"/\" (no leading or trailing \"/\")."
  }
}

variable "secure_parameters" {
  type        = map(string)
  default     = {}
  sensitive   = true
  description = "Secret configuration values stored as SSM SecureString parameters; keys as for parameters (the keys are not secret and appear in plans and outputs)."

  validation {
    condition     = alltrue([for key in keys(var.secure_parameters) : can(regex("^[a-zA-Z0-9_.-]+(/[a-zA-Z0-9_.-]+)*$", key))])
    error_message = "Every key of secure_parameters must be a relative path of letters, digits, \"_\", \".\" and \"-\" separated by \"/\" (no leading or trailing \"/\")."
  }
}

variable "ssm_kms_key_id" {
  type        = string
  default     = "alias/aws/ssm"
  description = "KMS key (ARN, ID or alias) encrypting the SecureString parameters."

  validation {
    condition     = length(var.ssm_kms_key_id) > 0
    error_message = "The ssm_kms_key_id must not be empty."
  }
}
