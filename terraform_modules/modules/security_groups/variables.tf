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

variable "vpc_id" {
  type        = string
  description = "ID of the VPC the security groups belong to (the network module's vpc_id)."

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "The vpc_id must be a VPC ID such as vpc-0123456789abcdef0."
  }
}

variable "app_port" {
  type        = number
  default     = 8080
  description = "TCP port the ECS tasks listen on (the load balancer's target port)."

  validation {
    condition     = var.app_port >= 1 && var.app_port <= 65535 && floor(var.app_port) == var.app_port
    error_message = "The app_port must be a whole number from 1 to 65535."
  }
}

variable "db_port" {
  type        = number
  default     = 3306
  description = "TCP port of the database (3306 for MySQL, 5432 for PostgreSQL)."

  validation {
    condition     = var.db_port >= 1 && var.db_port <= 65535 && floor(var.db_port) == var.db_port
    error_message = "The db_port must be a whole number from 1 to 65535."
  }
}

variable "cache_port" {
  type        = number
  default     = 6379
  description = "TCP port of the Redis cache."

  validation {
    condition     = var.cache_port >= 1 && var.cache_port <= 65535 && floor(var.cache_port) == var.cache_port
    error_message = "The cache_port must be a whole number from 1 to 65535."
  }
}

variable "api_ingress_cidrs" {
  type        = list(string)
  default     = ["0.0.0.0/0"]
  description = "IPv4 CIDR blocks allowed to reach the API load balancer on ports 80 and 443."

  validation {
    condition = length(var.api_ingress_cidrs) > 0 && alltrue([
      for cidr in var.api_ingress_cidrs :
      can(regex("^[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}$", cidr)) && try(cidrsubnet(cidr, 0, 0) == cidr, false)
    ])
    error_message = "The api_ingress_cidrs must hold at least one IPv4 CIDR block in network form (host bits zero), e.g. 203.0.113.0/24."
  }
}
