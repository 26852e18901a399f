# Variables of the full blueprint beyond those every blueprint shares (root_variables.tf).

variable "force_destroy_data" {
  type        = bool
  description = "Let destroy delete the audio and state buckets even when they hold files. Keep false for anything that matters."
  default     = false
}

variable "secret_recovery_window_days" {
  type        = number
  description = "Days a destroyed secret can still be recovered; 0 deletes it at once."
  default     = 7

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "The secret recovery window must be 0 or from 7 to 30 days."
  }
}

variable "db_name" {
  type        = string
  description = "Name of the MySQL database."
  default     = "spotmusic"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_]{0,63}$", var.db_name))
    error_message = "The database name must start with a letter and hold only letters, digits and underscores (at most 64)."
  }
}

variable "db_username" {
  type        = string
  description = "Name of the application's database user."
  default     = "spotmusic"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_]{0,15}$", var.db_username))
    error_message = "The database user name must start with a letter and hold only letters, digits and underscores (at most 16)."
  }
}

variable "db_instance_class" {
  type        = string
  description = "RDS instance class of the MySQL database."
  default     = "db.t3.micro"

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.db_instance_class))
    error_message = "The database instance class must look like db.t3.micro."
  }
}

variable "db_allocated_storage" {
  type        = number
  description = "Storage of the MySQL database, in GiB."
  default     = 20

  validation {
    condition     = var.db_allocated_storage >= 20 && var.db_allocated_storage <= 65536
    error_message = "The database storage must be from 20 to 65536 GiB."
  }
}

variable "db_multi_az" {
  type        = bool
  description = "Run the database in two AZs (always on in prod)."
  default     = false
}

variable "db_skip_final_snapshot" {
  type        = bool
  description = "Destroy the database without a final snapshot. Keep false for anything whose data matters."
  default     = false
}

variable "cache_node_type" {
  type        = string
  description = "ElastiCache node type of the Redis cache."
  default     = "cache.t3.micro"

  validation {
    condition     = can(regex("^cache\\.[a-z0-9]+\\.[a-z0-9]+$", var.cache_node_type))
    error_message = "The cache node type must look like cache.t3.micro."
  }
}

variable "cache_nodes" {
  type        = number
  description = "Number of Redis nodes (primary + replicas); prod has at least 2."
  default     = 1

  validation {
    condition     = var.cache_nodes >= 1 && var.cache_nodes <= 6 && floor(var.cache_nodes) == var.cache_nodes
    error_message = "The number of cache nodes must be a whole number from 1 to 6."
  }
}

variable "cdn_price_class" {
  type        = string
  description = "CloudFront price class of the audio CDN."
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.cdn_price_class)
    error_message = "The CDN price class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

variable "cdn_wait_for_deployment" {
  type        = bool
  description = "Wait until the CloudFront distribution is deployed everywhere (up to ~15 min on AWS) before finishing the apply."
  default     = true
}

variable "api_backend_url" {
  type        = string
  description = "Origin URL of the web-api (its load balancer) that API Gateway proxies to. Empty: the API answers 503 until an origin is set."
  default     = ""

  validation {
    condition     = var.api_backend_url == "" || can(regex("^https?://[^\\s]+$", var.api_backend_url))
    error_message = "The API backend URL must be empty or an http(s) URL."
  }
}

variable "waf_rate_limit" {
  type        = number
  description = "Requests per 5 minutes from one IP address before the WAF blocks it."
  default     = 2000

  validation {
    condition     = var.waf_rate_limit >= 100 && var.waf_rate_limit <= 2000000000
    error_message = "The WAF rate limit must be from 100 to 2000000000 requests per 5 minutes."
  }
}
