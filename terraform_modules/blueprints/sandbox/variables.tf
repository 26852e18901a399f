# Variables of the sandbox blueprint beyond those every blueprint shares (root_variables.tf).

variable "force_destroy_data" {
  type        = bool
  description = "Let destroy delete the audio bucket even when it holds files. A sandbox is short-lived, so this defaults to true."
  default     = true
}

variable "secret_recovery_window_days" {
  type        = number
  description = "Days a destroyed secret can still be recovered; 0 deletes it at once (sandboxes are short-lived)."
  default     = 0

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "The secret recovery window must be 0 or from 7 to 30 days."
  }
}
