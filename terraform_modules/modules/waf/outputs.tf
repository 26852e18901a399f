output "web_acl_arn" {
  description = "ARN of the web ACL."
  value       = aws_wafv2_web_acl.this.arn
}

output "web_acl_id" {
  description = "Id of the web ACL."
  value       = aws_wafv2_web_acl.this.id
}

output "web_acl_name" {
  description = "Name of the web ACL (<name_prefix>-<environment>-web-acl), also its metric name (the WebACL dimension of AWS/WAFV2 metrics); known at plan time."
  value       = local.web_acl_name
}

output "log_group_name" {
  description = "Name of the CloudWatch log group receiving the WAF request log (aws-waf-logs-<name_prefix>-<environment>)."
  value       = aws_cloudwatch_log_group.this.name
}
