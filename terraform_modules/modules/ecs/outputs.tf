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
  value = {
    web-api = aws_ecs_service.web_api.id
    workers = aws_ecs_service.workers.id
  }
}

output "task_definition_arns" {
  description = "Task definition ARN (family:revision) by service."
  value = {
    web-api = aws_ecs_task_definition.web_api.arn
    workers = aws_ecs_task_definition.workers.arn
  }
}
