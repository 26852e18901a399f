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

variable "repositories" {
  type        = list(string)
  default     = ["web-api", "workers"]
  description = "Short names of the image repositories; each becomes \"<name_prefix>/<environment>/<name>\"."

  validation {
    condition = length(var.repositories) > 0 && length(distinct(var.repositories)) == length(var.repositories) && alltrue([
      for repository in var.repositories : can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*$", repository))
    ])
    error_message = "The repositories must be a non-empty list of distinct names made of lowercase letters and digits, separated by single '.', '_' or '-'."
  }
}

variable "image_tag_mutability" {
  type        = string
  default     = "IMMUTABLE"
  description = "Whether an image tag can be pushed again (MUTABLE) or is fixed to its first image (IMMUTABLE)."

  validation {
    condition     = contains(["IMMUTABLE", "MUTABLE"], var.image_tag_mutability)
    error_message = "The image_tag_mutability must be IMMUTABLE or MUTABLE."
  }
}

variable "kms_key_arn" {
  type        = string
  default     = null
  description = "ARN of a KMS key to encrypt the images with; null encrypts with AES256 (ECR-managed keys)."

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "The kms_key_arn must be null or a KMS key ARN (arn:aws:kms:...)."
  }
}

variable "keep_images" {
  type        = number
  default     = 30
  description = "How many of the most recently pushed tagged images each repository keeps; older tagged images expire."

  validation {
    condition     = var.keep_images >= 1 && var.keep_images <= 1000 && floor(var.keep_images) == var.keep_images
    error_message = "The keep_images must be a whole number from 1 to 1000."
  }
}

variable "untagged_image_expiry_days" {
  type        = number
  default     = 7
  description = "Days after which an untagged image (a layer left behind by a re-push or a failed build) expires."

  validation {
    condition     = var.untagged_image_expiry_days >= 1 && var.untagged_image_expiry_days <= 365 && floor(var.untagged_image_expiry_days) == var.untagged_image_expiry_days
    error_message = "The untagged_image_expiry_days must be a whole number from 1 to 365."
  }
}
