output "rest_api_id" {
  description = "Id of the REST API."
  value       = aws_api_gateway_rest_api.this.id
}

output "rest_api_name" {
  description = "Name of the REST API (<name_prefix>-<environment>-api), the ApiName dimension of its CloudWatch metrics; known at plan time."
  value       = local.api_name
}

output "stage_name" {
  description = "Name of the deployment stage; known at plan time."
  value       = var.stage_name
}

output "stage_arn" {
  description = "ARN of the stage (arn:aws:apigateway:<region>::/restapis/<id>/stages/<stage>), the resource a WAF web ACL is associated with."
  value       = aws_api_gateway_stage.this.arn
}

output "invoke_url" {
  description = "Base URL of the stage (https://<id>.execute-api.<region>.amazonaws.com/<stage>); GET <invoke_url>/health answers {\"status\":\"ok\"}."
  value       = aws_api_gateway_stage.this.invoke_url
}

output "execution_arn" {
  description = "Execution ARN of the REST API, for lambda permissions and IAM policies (append /<stage>/<method>/<path>)."
  value       = aws_api_gateway_rest_api.this.execution_arn
}

output "access_log_group_name" {
  description = "Name of the CloudWatch log group holding the stage's access log."
  value       = aws_cloudwatch_log_group.access.name
}
