# Redis (ElastiCache replication group, cluster mode disabled) in private subnets: encrypted at rest and
# in transit, automatic failover and Multi-AZ as soon as there is a replica.

locals {
  name = "${var.name_prefix}-${var.environment}"
  tags = merge(var.tags, { Environment = var.environment, Component = "cache", ManagedBy = "terraform" })

  # Redis 6 and later are versioned "<major>.x" by ElastiCache and their parameter group family is
  # "redis<major>.x"; earlier families are "redis<major>.<minor>".
  engine_version_parts   = split(".", var.engine_version)
  parameter_group_family = local.engine_version_parts[1] == "x" ? "redis${local.engine_version_parts[0]}.x" : "redis${local.engine_version_parts[0]}.${local.engine_version_parts[1]}"

  # A replica is what failover promotes, so failover and Multi-AZ need at least two nodes.
  high_availability = var.number_cache_clusters >= 2

  # ElastiCache names the members of a cluster-mode-disabled replication group <id>-001, <id>-002, ...
  cache_cluster_ids = [for n in range(1, var.number_cache_clusters + 1) : format("%s-%03d", local.name, n)]
}

resource "aws_elasticache_subnet_group" "this" {
  name        = "${local.name}-redis"
  description = "Private subnets of the ${local.name} Redis cache"
  subnet_ids  = var.subnet_ids

  tags = merge(local.tags, { Name = "${local.name}-redis" })
}

resource "aws_elasticache_parameter_group" "this" {
  # The family is part of the name so that an engine upgrade creates the new group before the old one
  # (still attached to the cache) is deleted.
  name        = "${local.name}-${replace(local.parameter_group_family, ".", "-")}"
  family      = local.parameter_group_family
  description = "Redis parameters of ${local.name}"

  parameter {
    name  = "maxmemory-policy"
    value = var.maxmemory_policy
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id          = local.name
  replication_group_description = "Redis cache of ${local.name}"

  engine               = "redis"
  engine_version       = var.engine_version
  node_type            = var.node_type
  port                 = 6379
  parameter_group_name = aws_elasticache_parameter_group.this.name

  number_cache_clusters      = var.number_cache_clusters
  automatic_failover_enabled = local.high_availability
  multi_az_enabled           = local.high_availability

  subnet_group_name  = aws_elasticache_subnet_group.this.name
  security_group_ids = var.security_group_ids

  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_id
  transit_encryption_enabled = true

  snapshot_retention_limit   = var.snapshot_retention_limit
  snapshot_window            = var.snapshot_window
  maintenance_window         = var.maintenance_window
  auto_minor_version_upgrade = true
  apply_immediately          = var.apply_immediately

  tags = merge(local.tags, { Name = local.name })
}
