output "task_execution_role_arn" {
  description = "ARN of the ECS task execution role (execution_role_arn of the task definitions)."
  value       = aws_iam_role.task_execution.arn
}

output "task_execution_role_name" {
  description = "Name of the ECS task execution role."
  value       = aws_iam_role.task_execution.name
}

output "web_api_task_role_arn" {
  description = "ARN of the web API's task role (task_role_arn of its task definition)."
  value       = aws_iam_role.web_api.arn
}

output "web_api_task_role_name" {
  description = "Name of the web API's task role."
  value       = aws_iam_role.web_api.name
}

output "workers_task_role_arn" {
  description = "ARN of the workers' task role (task_role_arn of their task definition)."
  value       = aws_iam_role.workers.arn
}

output "workers_task_role_name" {
  description = "Name of the workers' task role."
  value       = aws_iam_role.workers.name
}
