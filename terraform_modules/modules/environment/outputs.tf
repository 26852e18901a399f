output "tags" {
  description = "Tags every resource of the environment carries beyond each module's own (the given tags, Tier and Blueprint), for the blueprint's other components."
  value       = local.tags
}

output "vpc_id" {
  description = "ID of the environment's VPC."
  value       = module.network.vpc_id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets the services run in."
  value       = module.network.private_subnet_ids
}

output "database_security_group_id" {
  description = "Security group for a database, reachable from the services' tasks only."
  value       = module.security_groups.database_security_group_id
}

output "cache_security_group_id" {
  description = "Security group for a cache, reachable from the services' tasks only."
  value       = module.security_groups.cache_security_group_id
}

output "audio_bucket_id" {
  description = "Name of the S3 bucket holding audio files."
  value       = module.audio_storage.bucket_id
}

output "audio_bucket_regional_domain_name" {
  description = "Regional domain name of the audio bucket, the origin of a CDN in front of it."
  value       = module.audio_storage.bucket_regional_domain_name
}

output "queue_url" {
  description = "URL of the SQS work queue."
  value       = module.queues.queue_url
}

output "dead_letter_queue_url" {
  description = "URL of the SQS dead-letter queue."
  value       = module.queues.dead_letter_queue_url
}

output "ecr_repository_urls" {
  description = "ECR repository URL of each service."
  value       = module.container_registry.repository_urls
}

output "ecs_cluster_name" {
  description = "Name of the ECS cluster."
  value       = module.ecs.cluster_name
}

output "ecs_service_names" {
  description = "Name of each ECS service (web-api, workers)."
  value       = module.ecs.service_names
}

output "log_group_names" {
  description = "CloudWatch log group of each service."
  value       = module.observability.log_group_names
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = module.observability.dashboard_name
}

output "db_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the database credentials."
  value       = module.secrets.db_secret_arn
}
