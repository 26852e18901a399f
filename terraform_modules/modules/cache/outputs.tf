output "replication_group_id" {
  description = "ID of the Redis replication group."
  value       = aws_elasticache_replication_group.this.id
}

output "replication_group_arn" {
  description = "ARN of the Redis replication group."
  value       = aws_elasticache_replication_group.this.arn
}

output "primary_endpoint_address" {
  description = "DNS name of the primary node (reads and writes); connect with TLS."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "reader_endpoint_address" {
  description = "DNS name that spreads reads over the replicas (the primary when there are none); connect with TLS."
  value       = aws_elasticache_replication_group.this.reader_endpoint_address
}

output "port" {
  description = "Port Redis listens on."
  value       = aws_elasticache_replication_group.this.port
}

output "member_cluster_ids" {
  description = "IDs of the cache clusters (nodes) of the replication group, as ElastiCache reports them after apply."
  value       = sort(aws_elasticache_replication_group.this.member_clusters)
}

output "cache_cluster_ids" {
  description = "IDs of the cache clusters (nodes), <replication_group_id>-001 to -00N as ElastiCache names them; known at plan time, so usable in count/for_each (e.g. one CloudWatch alarm per node)."
  value       = local.cache_cluster_ids
}

output "parameter_group_name" {
  description = "Name of the cache's Redis parameter group."
  value       = aws_elasticache_parameter_group.this.name
}

output "subnet_group_name" {
  description = "Name of the cache's subnet group."
  value       = aws_elasticache_subnet_group.this.name
}
