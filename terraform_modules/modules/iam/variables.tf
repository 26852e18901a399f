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

variable "audio_bucket_arn" {
  type        = string
  description = "ARN of the S3 bucket holding the audio files (arn:aws:s3:::<bucket>)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.audio_bucket_arn))
    error_message = "The audio_bucket_arn must be an S3 bucket ARN (arn:aws:s3:::<bucket>), without an object path."
  }
}

variable "queue_arns" {
  type        = list(string)
  description = "ARNs of the SQS queues the web API sends to and the workers consume."

  validation {
    condition     = alltrue([for arn in var.queue_arns : can(regex("^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[a-zA-Z0-9_.-]+$", arn))])
    error_message = "Each of queue_arns must be an SQS queue ARN (arn:aws:sqs:<region>:<account>:<queue>)."
  }
}

variable "secret_arns" {
  type        = list(string)
  description = "ARNs of the Secrets Manager secrets the tasks read (at start-up through the execution role, at run time through the task roles)."

  validation {
    condition     = alltrue([for arn in var.secret_arns : can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", arn))])
    error_message = "Each of secret_arns must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)."
  }
}

variable "ssm_parameter_arns" {
  type        = list(string)
  default     = []
  description = "ARNs of the SSM parameters injected into the task definitions as secrets."

  validation {
    condition     = alltrue([for arn in var.ssm_parameter_arns : can(regex("^arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:parameter/.+$", arn))])
    error_message = "Each of ssm_parameter_arns must be an SSM parameter ARN (arn:aws:ssm:<region>:<account>:parameter/<name>)."
  }
}

variable "log_group_arns" {
  type        = list(string)
  description = "ARNs of the CloudWatch log groups the tasks' awslogs driver writes to (with or without the trailing \":*\")."

  validation {
    condition     = alltrue([for arn in var.log_group_arns : can(regex("^arn:aws[a-z-]*:logs:[a-z0-9-]+:[0-9]{12}:log-group:[^:*]+(:\\*)?$", arn))])
    error_message = "Each of log_group_arns must be a CloudWatch Logs log group ARN (arn:aws:logs:<region>:<account>:log-group:<name>)."
  }
}

variable "ecr_repository_arns" {
  type        = list(string)
  description = "ARNs of the ECR repositories the task images are pulled from."

  validation {
    condition     = alltrue([for arn in var.ecr_repository_arns : can(regex("^arn:aws[a-z-]*:ecr:[a-z0-9-]+:[0-9]{12}:repository/.+$", arn))])
    error_message = "Each of ecr_repository_arns must be an ECR repository ARN (arn:aws:ecr:<region>:<account>:repository/<name>)."
  }
}

variable "kms_key_arns" {
  type        = list(string)
  default     = []
  description = "ARNs of the customer managed KMS keys encrypting the secrets and SecureString parameters the execution role reads."

  validation {
    condition     = alltrue([for arn in var.kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", arn))])
    error_message = "Each of kms_key_arns must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key-id>)."
  }
}
