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

variable "vpc_cidr" {
  type        = string
  description = "IPv4 CIDR block of the VPC, in network form (e.g. 10.20.0.0/16), prefix /16 to /24. It is split in four equal subnets: two public, two private."

  validation {
    condition = (
      can(regex("^[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}$", var.vpc_cidr)) &&
      try(cidrsubnet(var.vpc_cidr, 0, 0) == var.vpc_cidr, false) &&
      try(tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 24, false)
    )
    error_message = "The vpc_cidr must be an IPv4 CIDR block in network form (host bits zero) with a prefix from /16 to /24, e.g. 10.20.0.0/16."
  }
}

variable "availability_zones" {
  type        = list(string)
  default     = []
  description = "The two availability zones of the subnets; empty means the first two available zones of the region."

  validation {
    condition     = length(var.availability_zones) == 0 || (length(var.availability_zones) == 2 && length(distinct(var.availability_zones)) == 2)
    error_message = "The availability_zones must be empty (first two available zones) or exactly two different zones."
  }
}

variable "single_nat_gateway" {
  type        = bool
  default     = true
  description = "One NAT gateway shared by both private subnets (true, cheaper) or one per availability zone (false, survives the loss of a zone: use it for production)."
}
