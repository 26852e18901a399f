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
  description = "IDs of the private subnets the database may be placed in (at least two, in different availability zones)."

  validation {
    condition     = length(var.subnet_ids) >= 2 && alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
    error_message = "Give at least two subnet IDs (subnet-...)."
  }
}

variable "security_group_ids" {
  type        = list(string)
  description = "IDs of the VPC security groups attached to the database (they decide who may reach port 3306)."

  validation {
    condition     = length(var.security_group_ids) >= 1 && alltrue([for id in var.security_group_ids : can(regex("^sg-[0-9a-f]+$", id))])
    error_message = "Give at least one security group ID (sg-...)."
  }
}

variable "instance_class" {
  type        = string
  default     = "db.t3.micro"
  description = "RDS instance class (e.g. db.t3.micro, db.m6g.large)."

  validation {
    condition     = can(regex("^db\\.[a-z0-9-]+\\.[a-z0-9]+$", var.instance_class))
    error_message = "The instance_class must be an RDS instance class such as db.t3.micro."
  }
}

variable "allocated_storage" {
  type        = number
  default     = 20
  description = "Initial storage in GiB."

  validation {
    condition     = var.allocated_storage >= 20 && var.allocated_storage <= 65536 && floor(var.allocated_storage) == var.allocated_storage
    error_message = "The allocated_storage must be a whole number of GiB from 20 to 65536."
  }
}

variable "max_allocated_storage" {
  type        = number
  default     = 100
  description = "Upper limit in GiB to which RDS grows the storage automatically; must be above allocated_storage (0 turns storage autoscaling off)."

  validation {
    condition     = var.max_allocated_storage == 0 || (var.max_allocated_storage >= 21 && var.max_allocated_storage <= 65536 && floor(var.max_allocated_storage) == var.max_allocated_storage)
    error_message = "The max_allocated_storage must be 0 (no autoscaling) or a whole number of GiB from 21 to 65536."
  }
}

variable "engine_version" {
  type        = string
  default     = "8.0.35"
  description = "MySQL engine version: an exact release (\"8.0.35\", upgraded only when you change it) or a major.minor (\"8.0\", minor upgrades applied by AWS in the maintenance window)."

  validation {
    condition     = can(regex("^8\\.[0-9]+(\\.[0-9]+)?$", var.engine_version))
    error_message = "The engine_version must be a MySQL 8 version such as \"8.0.35\" or \"8.0\"."
  }
}

variable "db_name" {
  type        = string
  default     = "spotmusic"
  description = "Name of the database created in the instance."

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,63}$", var.db_name))
    error_message = "The db_name must be 1-64 letters, digits or underscores, starting with a letter."
  }
}

variable "username" {
  type        = string
  default     = "spotmusic"
  description = "Name of the master user."

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,31}$", var.username)) && !contains(["rdsadmin", "rdsrepladmin", "root", "mysql"], lower(var.username))
    error_message = "The username must be 1-32 letters, digits or underscores, start with a letter, and not be a reserved name (rdsadmin, rdsrepladmin, root, mysql)."
  }
}

variable "password" {
  type        = string
  sensitive   = true
  description = "Master user's password: 16-41 printable ASCII characters, without / @ \" or spaces. Pass it from a secret, never write it in code."

  validation {
    condition     = can(regex("^[!#-.0-?A-~]{16,41}$", var.password))
    error_message = "The password must be 16-41 printable ASCII characters and must not contain /, @, \" or spaces."
  }
}

variable "multi_az" {
  type        = bool
  default     = false
  description = "Keep a synchronous standby in a second availability zone (automatic failover)."
}

variable "backup_retention_period" {
  type        = number
  default     = 7
  description = "Days automated backups are kept (0 turns automated backups off)."

  validation {
    condition     = var.backup_retention_period >= 0 && var.backup_retention_period <= 35 && floor(var.backup_retention_period) == var.backup_retention_period
    error_message = "The backup_retention_period must be a whole number of days from 0 to 35."
  }
}

variable "backup_window" {
  type        = string
  default     = "02:00-03:00"
  description = "Daily UTC window (hh24:mi-hh24:mi, at least 30 minutes) for automated backups; must not overlap maintenance_window."

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$", var.backup_window))
    error_message = "The backup_window must look like 02:00-03:00 (UTC)."
  }
}

variable "maintenance_window" {
  type        = string
  default     = "sun:03:30-sun:04:30"
  description = "Weekly UTC window (ddd:hh24:mi-ddd:hh24:mi, at least 30 minutes) for engine patching."

  validation {
    condition     = can(regex("^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]$", var.maintenance_window))
    error_message = "The maintenance_window must look like sun:03:30-sun:04:30 (lowercase day names, UTC)."
  }
}

variable "deletion_protection" {
  type        = bool
  default     = false
  description = "Refuse to delete the instance (set true for production; turn off before a planned destroy)."
}

variable "skip_final_snapshot" {
  type        = bool
  default     = false
  description = "Delete the instance without taking a final snapshot (named <name_prefix>-<environment>-final otherwise)."
}

variable "apply_immediately" {
  type        = bool
  default     = false
  description = "Apply changes at once instead of in the next maintenance window."
}

variable "kms_key_id" {
  type        = string
  default     = null
  description = "ARN of the KMS key that encrypts the storage; null uses the AWS managed RDS key."

  validation {
    condition     = var.kms_key_id == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_id))
    error_message = "The kms_key_id must be a KMS key ARN (arn:aws:kms:...) or null."
  }
}
