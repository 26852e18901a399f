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

variable "service_names" {
  type        = list(string)
  default     = ["web-api", "workers"]
  description = "Short names of the ECS services (the keys of the ecs module's service_names); one log group and one set of ECS alarms each."

  validation {
    condition = length(distinct(var.service_names)) == length(var.service_names) && alltrue([
      for service in var.service_names : can(regex("^[a-z][a-z0-9-]{0,31}$", service))
    ])
    error_message = "The service_names must be distinct names of 1-32 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "log_retention_days" {
  type        = number
  default     = 30
  description = "Days CloudWatch Logs keeps the services' log events."

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653], var.log_retention_days)
    error_message = "The log_retention_days must be one of CloudWatch Logs' values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653."
  }
}

variable "kms_key_id" {
  type        = string
  default     = null
  description = "ARN of a KMS key to encrypt the log groups with (its key policy must allow logs.<region>.amazonaws.com); null uses CloudWatch Logs' own encryption."

  validation {
    condition     = var.kms_key_id == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_id))
    error_message = "The kms_key_id must be null or a KMS key ARN (arn:aws:kms:...)."
  }
}

variable "ecs_cluster_name" {
  type        = string
  description = "Name of the ECS cluster running the services (the ecs module's cluster_name)."

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,255}$", var.ecs_cluster_name))
    error_message = "The ecs_cluster_name must be 1-255 letters, digits, hyphens and underscores."
  }
}

variable "ecs_service_names" {
  type        = map(string)
  default     = null
  description = "Full ECS service name by short service name (the ecs module's service_names output). null means \"<name_prefix>-<environment>-<service>\" for each of service_names."

  validation {
    condition = alltrue([
      for name in values(var.ecs_service_names == null ? {} : var.ecs_service_names) : can(regex("^[a-zA-Z0-9_-]{1,255}$", name))
    ])
    error_message = "The ecs_service_names values must be 1-255 letters, digits, hyphens and underscores."
  }
}

variable "queue_name" {
  type        = string
  description = "Name of the SQS work queue (not its URL or ARN)."

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,80}(\\.fifo)?$", var.queue_name))
    error_message = "The queue_name must be an SQS queue name: 1-80 letters, digits, hyphens and underscores, optionally ending in .fifo."
  }
}

variable "dead_letter_queue_name" {
  type        = string
  description = "Name of the SQS dead-letter queue of the work queue; any message in it raises an alarm."

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,80}(\\.fifo)?$", var.dead_letter_queue_name))
    error_message = "The dead_letter_queue_name must be an SQS queue name: 1-80 letters, digits, hyphens and underscores, optionally ending in .fifo."
  }
}

variable "db_instance_id" {
  type        = string
  default     = ""
  description = "Identifier of the RDS instance to watch; \"\" creates no database alarms or widgets. Must be known at plan time."

  validation {
    condition     = var.db_instance_id == "" || can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,62}$", var.db_instance_id))
    error_message = "The db_instance_id must be \"\" or an RDS identifier: 1-63 letters, digits and hyphens, starting with a letter."
  }
}

variable "db_free_storage_alarm_threshold_bytes" {
  type        = number
  default     = 2147483648
  description = "The database alarm fires when its free storage falls below this many bytes (default 2 GiB)."

  validation {
    condition     = var.db_free_storage_alarm_threshold_bytes > 0
    error_message = "The db_free_storage_alarm_threshold_bytes must be positive."
  }
}

variable "db_connections_alarm_threshold" {
  type        = number
  default     = 100
  description = "The database alarm fires when it has more open connections than this (size it to the instance class's max_connections)."

  validation {
    condition     = var.db_connections_alarm_threshold >= 1
    error_message = "The db_connections_alarm_threshold must be at least 1."
  }
}

variable "cache_cluster_ids" {
  type        = list(string)
  default     = []
  description = "ElastiCache (Redis) cluster ids to watch; one set of cache alarms and widgets each. Must be known at plan time."

  validation {
    condition = length(distinct(var.cache_cluster_ids)) == length(var.cache_cluster_ids) && alltrue([
      for id in var.cache_cluster_ids : can(regex("^[a-z][a-z0-9-]{0,49}$", id))
    ])
    error_message = "The cache_cluster_ids must be distinct ElastiCache ids: 1-50 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "cache_evictions_alarm_threshold" {
  type        = number
  default     = 100
  description = "The cache alarm fires when a cache evicts more keys than this in 5 minutes (the cache is too small for its working set)."

  validation {
    condition     = var.cache_evictions_alarm_threshold >= 0
    error_message = "The cache_evictions_alarm_threshold must not be negative."
  }
}

variable "api_name" {
  type        = string
  default     = ""
  description = "Name of the API Gateway REST API (the api_gateway module's rest_api_name); \"\" leaves the API widget out of the dashboard."
}

variable "api_stage_name" {
  type        = string
  default     = ""
  description = "Stage of the REST API the API widget shows; \"\" shows the API's metrics across stages."

  validation {
    condition     = var.api_stage_name == "" || can(regex("^[a-zA-Z0-9_]+$", var.api_stage_name))
    error_message = "The api_stage_name must be \"\" or letters, digits and underscores."
  }
}

variable "web_acl_name" {
  type        = string
  default     = ""
  description = "Name of the REGIONAL WAFv2 web ACL (the waf module's web_acl_name, also its metric name); \"\" leaves the WAF widget out of the dashboard."
}

variable "alarm_actions" {
  type        = list(string)
  default     = []
  description = "ARNs (e.g. SNS topics) notified when an alarm goes to ALARM."
}

variable "ok_actions" {
  type        = list(string)
  default     = []
  description = "ARNs (e.g. SNS topics) notified when an alarm returns to OK."
}

variable "cpu_alarm_threshold" {
  type        = number
  default     = 80
  description = "CPU utilisation (percent) above which the ECS service, database and cache alarms fire."

  validation {
    condition     = var.cpu_alarm_threshold >= 1 && var.cpu_alarm_threshold <= 100
    error_message = "The cpu_alarm_threshold must be a percentage from 1 to 100."
  }
}

variable "memory_alarm_threshold" {
  type        = number
  default     = 80
  description = "Memory utilisation (percent) above which the ECS service and cache memory alarms fire."

  validation {
    condition     = var.memory_alarm_threshold >= 1 && var.memory_alarm_threshold <= 100
    error_message = "The memory_alarm_threshold must be a percentage from 1 to 100."
  }
}

variable "queue_depth_alarm_threshold" {
  type        = number
  default     = 1000
  description = "Number of visible messages in the work queue above which the backlog alarm fires."

  validation {
    condition     = var.queue_depth_alarm_threshold >= 1
    error_message = "The queue_depth_alarm_threshold must be at least 1."
  }
}
