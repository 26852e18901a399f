output "log_group_names" {
  description = "CloudWatch log group name (/<name_prefix>/<environment>/<service>) by service; known at plan time, give it to the ecs module."
  value       = { for service in var.service_names : service => "/${var.name_prefix}/${var.environment}/${service}" }
}

output "log_group_arns" {
  description = "CloudWatch log group ARN by service, for IAM policies."
  value       = { for service, this in aws_cloudwatch_log_group.this : service => this.arn }
}

output "alarm_arns" {
  description = "Metric alarm ARN by alarm key (e.g. web-api-cpu-high, dead-letter-queue-not-empty, db-free-storage-low)."
  value       = { for key, this in aws_cloudwatch_metric_alarm.this : key => this.arn }
}

output "alarm_names" {
  description = "Names of every metric alarm (<name_prefix>-<environment>-<alarm key>); known at plan time."
  value       = [for key in sort(keys(local.alarms)) : "${local.name}-${key}"]
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard (<name_prefix>-<environment>)."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "dashboard_arn" {
  description = "ARN of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_arn
}
