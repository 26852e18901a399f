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

variable "bucket_regional_domain_name" {
  type        = string
  description = "Region-specific domain name of the S3 bucket served (audio_storage's bucket_regional_domain_name)."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]+\\.s3[.-]([a-z0-9-]+\\.)?amazonaws\\.com(\\.cn)?$", var.bucket_regional_domain_name))
    error_message = "The bucket_regional_domain_name must be an S3 bucket domain name such as my-bucket.s3.eu-west-1.amazonaws.com."
  }
}

variable "bucket_id" {
  type        = string
  description = "Name of the S3 bucket served (audio_storage's bucket_id); it names the origin."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_id))
    error_message = "The bucket_id must be an S3 bucket name (3-63 lowercase letters, digits, dots and hyphens)."
  }
}

variable "price_class" {
  type        = string
  default     = "PriceClass_100"
  description = "CloudFront price class: PriceClass_100 (North America, Europe), PriceClass_200 or PriceClass_All."

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.price_class)
    error_message = "The price_class must be one of PriceClass_100, PriceClass_200, PriceClass_All."
  }
}

variable "default_ttl" {
  type        = number
  default     = 86400
  description = "Seconds CloudFront caches an object when the origin sends no Cache-Control or Expires header."

  validation {
    condition     = var.default_ttl >= 0 && floor(var.default_ttl) == var.default_ttl
    error_message = "The default_ttl must be a whole number of seconds, 0 or more."
  }
}

variable "max_ttl" {
  type        = number
  default     = 31536000
  description = "Longest time in seconds CloudFront caches an object, whatever the origin's headers say; at least default_ttl."

  validation {
    condition     = var.max_ttl >= 0 && floor(var.max_ttl) == var.max_ttl
    error_message = "The max_ttl must be a whole number of seconds, 0 or more."
  }
}

variable "web_acl_id" {
  type        = string
  default     = null
  description = "ARN of a WAFv2 web ACL (scope CLOUDFRONT, us-east-1) protecting the distribution; null for none."

  validation {
    condition     = var.web_acl_id == null || can(regex("^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:[0-9]{12}:global/webacl/.+$", var.web_acl_id))
    error_message = "The web_acl_id must be null or the ARN of a CLOUDFRONT-scope WAFv2 web ACL: arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>."
  }
}

variable "wait_for_deployment" {
  type        = bool
  default     = true
  description = "Whether apply waits until the distribution is Deployed (takes minutes on AWS); false returns once it is accepted."
}
