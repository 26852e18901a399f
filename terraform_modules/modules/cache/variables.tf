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

variable "subnet_ids" {
  type        = list(string)
  description = "IDs of the private subnets the cache nodes are placed in (at least two, in different availability zones)."

  validation {
    condition     = length(var.subnet_ids) >= 2 && alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
    error_message = "Give at least two subnet IDs (subnet-...)."
  }
}

variable "security_group_ids" {
  type        = list(string)
  description = "IDs of the security groups attached to the cache nodes (they decide who may reach port 6379)."

  validation {
    condition     = length(var.security_group_ids) >= 1 && alltrue([for id in var.security_group_ids : can(regex("^sg-[0-9a-f]+$", id))])
    error_message = "Give at least one security group ID (sg-...)."
  }
}

variable "node_type" {
  type        = string
  default     = "cache.t3.micro"
  description = "ElastiCache node type of every node (e.g. cache.t3.micro, cache.r6g.large)."

  validation {
    condition     = can(regex("^cache\\.[a-z0-9-]+\\.[a-z0-9]+$", var.node_type))
    error_message = "The node_type must be an ElastiCache node type such as cache.t3.micro."
  }
}

variable "engine_version" {
  type        = string
  default     = "6.x"
  description = "Redis engine version: \"6.x\" (the newest Redis 6 release, minor versions applied by AWS) or an exact 5.0 release such as \"5.0.6\"."

  validation {
    condition     = can(regex("^(6\\.x|5\\.0\\.[0-9]+)$", var.engine_version))
    error_message = "The engine_version must be \"6.x\" or an exact Redis 5.0 release such as \"5.0.6\" (the versions hashicorp/aws 3.x accepts that support encryption)."
  }
}

variable "number_cache_clusters" {
  type        = number
  default     = 1
  description = "Number of nodes (one primary, the rest read replicas). With 2 or more, automatic failover and Multi-AZ are turned on."

  validation {
    condition     = var.number_cache_clusters >= 1 && var.number_cache_clusters <= 6 && floor(var.number_cache_clusters) == var.number_cache_clusters
    error_message = "The number_cache_clusters must be a whole number from 1 to 6."
  }
}

variable "snapshot_retention_limit" {
  type        = number
  default     = 1
  description = "Days automatic snapshots are kept (0 turns automatic snapshots off)."

  validation {
    condition     = var.snapshot_retention_limit >= 0 && var.snapshot_retention_limit <= 35 && floor(var.snapshot_retention_limit) == var.snapshot_retention_limit
    error_message = "The snapshot_retention_limit must be a whole number of days from 0 to 35."
  }
}

variable "snapshot_window" {
  type        = string
  default     = "03:00-04:00"
  description = "Daily UTC window (hh24:mi-hh24:mi, at least 60 minutes) in which the automatic snapshot is taken; must not overlap maintenance_window."

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$", var.snapshot_window))
    error_message = "The snapshot_window must look like 03:00-04:00 (UTC)."
  }
}

variable "maintenance_window" {
  type        = string
  default     = "sun:05:00-sun:06:00"
  description = "Weekly UTC window (ddd:hh24:mi-ddd:hh24:mi, at least 60 minutes) for engine patching."

  validation {
    condition     = can(regex("^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]$", var.maintenance_window))
    error_message = "The maintenance_window must look like sun:05:00-sun:06:00 (lowercase day names, UTC)."
  }
}

variable "maxmemory_policy" {
  type        = string
  default     = "volatile-lru"
  description = "Redis maxmemory-policy set in the cache's parameter group: which keys Redis evicts when memory is full."

  validation {
    condition     = contains(["volatile-lru", "allkeys-lru", "volatile-lfu", "allkeys-lfu", "volatile-random", "allkeys-random", "volatile-ttl", "noeviction"], var.maxmemory_policy)
    error_message = "The maxmemory_policy must be one of volatile-lru, allkeys-lru, volatile-lfu, allkeys-lfu, volatile-random, allkeys-random, volatile-ttl, noeviction."
  }
}

variable "kms_key_id" {
  type        = string
  default     = null
  description = "ARN of the KMS key that encrypts the data at rest; null uses the AWS managed ElastiCache key."

  validation {
    condition     = var.kms_key_id == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_id))
    error_message = "The kms_key_id must be a KMS key ARN (arn:aws:kms:...) or null."
  }
}

variable "apply_immediately" {
  type        = bool
  default     = false
  description = "Apply changes at once instead of in the next maintenance window."
}
