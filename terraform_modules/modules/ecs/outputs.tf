output "cluster_name" {
  description = "Name of the ECS cluster (<name_prefix>-<environment>); known at plan time."
  value       = local.cluster_name
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = aws_ecs_cluster.this.arn
}

output "service_names" {
  description = "ECS service name by service (\"web-api\", \"workers\"); known at plan time, for the observability module."
  value       = local.service_names
}

output "service_ids" {
  description = "ECS service id (its ARN) by service."
  value       = { for name, service in aws_ecs_service.this : name => service.id }
}

output "task_definition_arns" {
  description = "Task definition ARN (family:revision) by service."
  value       = { for name, task_definition in aws_ecs_task_definition.this : name => task_definition.arn }
}
