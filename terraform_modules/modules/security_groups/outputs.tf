output "api_security_group_id" {
  description = "ID of the API load balancer's security group (ingress 80/443 from api_ingress_cidrs)."
  value       = aws_security_group.api.id
}

output "ecs_tasks_security_group_id" {
  description = "ID of the ECS tasks' security group (ingress app_port from the API group)."
  value       = aws_security_group.ecs_tasks.id
}

output "database_security_group_id" {
  description = "ID of the database's security group (ingress db_port from the ECS tasks group)."
  value       = aws_security_group.database.id
}

output "cache_security_group_id" {
  description = "ID of the Redis cache's security group (ingress cache_port from the ECS tasks group)."
  value       = aws_security_group.cache.id
}
