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

variable "private_subnet_ids" {
  type        = list(string)
  description = "Private subnets the tasks run in (no public IP); they reach AWS APIs and ECR through the NAT gateway or VPC endpoints."

  validation {
    condition     = length(var.private_subnet_ids) > 0 && alltrue([for id in var.private_subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
    error_message = "The private_subnet_ids must be a non-empty list of subnet ids (subnet-...)."
  }
}

variable "security_group_ids" {
  type        = list(string)
  description = "Security groups of the tasks (both services)."

  validation {
    condition     = length(var.security_group_ids) > 0 && alltrue([for id in var.security_group_ids : can(regex("^sg-[0-9a-f]+$", id))])
    error_message = "The security_group_ids must be a non-empty list of security group ids (sg-...)."
  }
}

variable "execution_role_arn" {
  type        = string
  description = "Role ECS uses to start the tasks: pull from ECR, write to the log groups, read the secrets."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", var.execution_role_arn))
    error_message = "The execution_role_arn must be an IAM role ARN (arn:aws:iam::<account>:role/...)."
  }
}

variable "web_api_task_role_arn" {
  type        = string
  description = "Role the web-api containers run as (their AWS permissions)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", var.web_api_task_role_arn))
    error_message = "The web_api_task_role_arn must be an IAM role ARN (arn:aws:iam::<account>:role/...)."
  }
}

variable "workers_task_role_arn" {
  type        = string
  description = "Role the workers containers run as (their AWS permissions)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", var.workers_task_role_arn))
    error_message = "The workers_task_role_arn must be an IAM role ARN (arn:aws:iam::<account>:role/...)."
  }
}

variable "web_api_image" {
  type        = string
  description = "Image of the web-api container, repository URL and tag (or digest), e.g. <account>.dkr.ecr.<region>.amazonaws.com/spotmusic/dev/web-api:1.4.2."

  validation {
    condition     = can(regex("^[^\\s]+[:@][^\\s/]+$", var.web_api_image))
    error_message = "The web_api_image must be an image reference with a tag or digest (repository:tag or repository@sha256:...)."
  }
}

variable "workers_image" {
  type        = string
  description = "Image of the workers container, repository URL and tag (or digest)."

  validation {
    condition     = can(regex("^[^\\s]+[:@][^\\s/]+$", var.workers_image))
    error_message = "The workers_image must be an image reference with a tag or digest (repository:tag or repository@sha256:...)."
  }
}

variable "web_api_cpu" {
  type        = number
  default     = 256
  description = "CPU units of a web-api task (1024 = 1 vCPU); Fargate pairs each with a memory range, see web_api_memory."

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.web_api_cpu)
    error_message = "The web_api_cpu must be a Fargate CPU value: 256, 512, 1024, 2048 or 4096."
  }
}

variable "web_api_memory" {
  type        = number
  default     = 512
  description = "Memory (MiB) of a web-api task. Fargate allows: 256 CPU → 512, 1024, 2048; 512 → 1024-4096; 1024 → 2048-8192; 2048 → 4096-16384; 4096 → 8192-30720 (in steps of 1024 above 512)."

  validation {
    condition     = var.web_api_memory == 512 || (var.web_api_memory >= 1024 && var.web_api_memory <= 30720 && var.web_api_memory % 1024 == 0)
    error_message = "The web_api_memory must be 512 or a multiple of 1024 from 1024 to 30720 MiB (and fit web_api_cpu, see the description)."
  }
}

variable "workers_cpu" {
  type        = number
  default     = 256
  description = "CPU units of a workers task (1024 = 1 vCPU); Fargate pairs each with a memory range, see workers_memory."

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.workers_cpu)
    error_message = "The workers_cpu must be a Fargate CPU value: 256, 512, 1024, 2048 or 4096."
  }
}

variable "workers_memory" {
  type        = number
  default     = 512
  description = "Memory (MiB) of a workers task; the same Fargate pairs as web_api_memory."

  validation {
    condition     = var.workers_memory == 512 || (var.workers_memory >= 1024 && var.workers_memory <= 30720 && var.workers_memory % 1024 == 0)
    error_message = "The workers_memory must be 512 or a multiple of 1024 from 1024 to 30720 MiB (and fit workers_cpu, see web_api_memory's description)."
  }
}

variable "web_api_desired_count" {
  type        = number
  default     = 1
  description = "Number of web-api tasks to keep running."

  validation {
    condition     = var.web_api_desired_count >= 0 && var.web_api_desired_count <= 100 && floor(var.web_api_desired_count) == var.web_api_desired_count
    error_message = "The web_api_desired_count must be a whole number from 0 to 100."
  }
}

variable "workers_desired_count" {
  type        = number
  default     = 1
  description = "Number of workers tasks to keep running."

  validation {
    condition     = var.workers_desired_count >= 0 && var.workers_desired_count <= 100 && floor(var.workers_desired_count) == var.workers_desired_count
    error_message = "The workers_desired_count must be a whole number from 0 to 100."
  }
}

variable "container_port" {
  type        = number
  default     = 8080
  description = "TCP port the web-api container listens on."

  validation {
    condition     = var.container_port >= 1 && var.container_port <= 65535 && floor(var.container_port) == var.container_port
    error_message = "The container_port must be a whole number from 1 to 65535."
  }
}

variable "log_group_names" {
  type        = map(string)
  description = "CloudWatch log group name by service, with the keys \"web-api\" and \"workers\" (the observability module's log_group_names)."

  validation {
    condition     = contains(keys(var.log_group_names), "web-api") && contains(keys(var.log_group_names), "workers")
    error_message = "The log_group_names must have the keys \"web-api\" and \"workers\"."
  }
}

variable "environment_variables" {
  type        = map(string)
  default     = {}
  description = "Plain environment variables of both containers (never secrets: those go in secrets)."
}

variable "secrets" {
  type        = map(string)
  default     = {}
  description = "Environment variables of both containers read at start from Secrets Manager or SSM Parameter Store: variable name → secret or parameter ARN (a Secrets Manager ARN may end in :<json-key>::)."

  validation {
    condition     = alltrue([for arn in values(var.secrets) : can(regex("^arn:aws[a-z-]*:(secretsmanager|ssm):", arn))])
    error_message = "The secrets values must be Secrets Manager or SSM parameter ARNs (arn:aws:secretsmanager:... or arn:aws:ssm:...)."
  }
}

variable "workers_command" {
  type        = list(string)
  default     = []
  description = "Command of the workers container (e.g. [\"celery\", \"-A\", \"spotmusic\", \"worker\"]); [] keeps the image's CMD."
}

variable "readonly_root_filesystem" {
  type        = bool
  default     = true
  description = "Mount the containers' root filesystem read-only; each container still gets a writable, task-local /tmp."
}
