# The outputs Launchpad reads after an apply (the environment's page shows them).

output "vpc_id" {
  description = "ID of the environment's VPC."
  value       = module.environment.vpc_id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets the services run in."
  value       = module.environment.private_subnet_ids
}

output "audio_bucket" {
  description = "Name of the S3 bucket holding audio files."
  value       = module.environment.audio_bucket_id
}

output "work_queue_url" {
  description = "URL of the SQS work queue."
  value       = module.environment.queue_url
}

output "dead_letter_queue_url" {
  description = "URL of the SQS dead-letter queue."
  value       = module.environment.dead_letter_queue_url
}

output "ecr_repository_urls" {
  description = "ECR repository URL of each service."
  value       = module.environment.ecr_repository_urls
}

output "ecs_cluster_name" {
  description = "Name of the ECS cluster."
  value       = module.environment.ecs_cluster_name
}

output "ecs_service_names" {
  description = "Name of each ECS service (web-api, workers)."
  value       = module.environment.ecs_service_names
}

output "log_group_names" {
  description = "CloudWatch log group of each service."
  value       = module.environment.log_group_names
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = module.environment.dashboard_name
}

output "db_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the database credentials."
  value       = module.environment.db_secret_arn
}
