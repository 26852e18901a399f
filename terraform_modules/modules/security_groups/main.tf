# Security groups of the API load balancer, the ECS tasks, the database and the cache, each letting in
# only the tier in front of it. Rules are separate resources so the groups can reference each other.

locals {
  name = "${var.name_prefix}-${var.environment}"
  tags = merge(var.tags, { Environment = var.environment, Component = "security_groups", ManagedBy = "terraform" })
}

# The provider removes the allow-all egress rule AWS adds to every new group, so each group below
# allows exactly the rules declared here.

resource "aws_security_group" "api" {
  name        = "${local.name}-api"
  description = "API load balancer: HTTP/HTTPS from the allowed CIDRs"
  vpc_id      = var.vpc_id

  tags = merge(local.tags, { Name = "${local.name}-api" })
}

resource "aws_security_group" "ecs_tasks" {
  name        = "${local.name}-ecs-tasks"
  description = "ECS tasks: app port from the API load balancer"
  vpc_id      = var.vpc_id

  tags = merge(local.tags, { Name = "${local.name}-ecs-tasks" })
}

resource "aws_security_group" "database" {
  name        = "${local.name}-database"
  description = "Database: db port from the ECS tasks"
  vpc_id      = var.vpc_id

  tags = merge(local.tags, { Name = "${local.name}-database" })
}

resource "aws_security_group" "cache" {
  name        = "${local.name}-cache"
  description = "Redis cache: cache port from the ECS tasks"
  vpc_id      = var.vpc_id

  tags = merge(local.tags, { Name = "${local.name}-cache" })
}

# API load balancer

resource "aws_security_group_rule" "api_ingress_http" {
  security_group_id = aws_security_group.api.id
  description       = "HTTP from the allowed CIDRs"
  type              = "ingress"
  protocol          = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_blocks       = var.api_ingress_cidrs
}

resource "aws_security_group_rule" "api_ingress_https" {
  security_group_id = aws_security_group.api.id
  description       = "HTTPS from the allowed CIDRs"
  type              = "ingress"
  protocol          = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_blocks       = var.api_ingress_cidrs
}

# Without it the load balancer could not forward requests (or run health checks) to the tasks.
resource "aws_security_group_rule" "api_egress_ecs_tasks" {
  security_group_id        = aws_security_group.api.id
  description              = "Requests and health checks to the ECS tasks"
  type                     = "egress"
  protocol                 = "tcp"
  from_port                = var.app_port
  to_port                  = var.app_port
  source_security_group_id = aws_security_group.ecs_tasks.id
}

# ECS tasks

resource "aws_security_group_rule" "ecs_tasks_ingress_api" {
  security_group_id        = aws_security_group.ecs_tasks.id
  description              = "App port from the API load balancer"
  type                     = "ingress"
  protocol                 = "tcp"
  from_port                = var.app_port
  to_port                  = var.app_port
  source_security_group_id = aws_security_group.api.id
}

resource "aws_security_group_rule" "ecs_tasks_egress_https" {
  security_group_id = aws_security_group.ecs_tasks.id
  description       = "HTTPS to AWS APIs and ECR (through the NAT gateway)"
  type              = "egress"
  protocol          = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_blocks       = ["0.0.0.0/0"]
}

resource "aws_security_group_rule" "ecs_tasks_egress_database" {
  security_group_id        = aws_security_group.ecs_tasks.id
  description              = "Database port to the database"
  type                     = "egress"
  protocol                 = "tcp"
  from_port                = var.db_port
  to_port                  = var.db_port
  source_security_group_id = aws_security_group.database.id
}

resource "aws_security_group_rule" "ecs_tasks_egress_cache" {
  security_group_id        = aws_security_group.ecs_tasks.id
  description              = "Cache port to Redis"
  type                     = "egress"
  protocol                 = "tcp"
  from_port                = var.cache_port
  to_port                  = var.cache_port
  source_security_group_id = aws_security_group.cache.id
}

# Data stores: ingress from the ECS tasks only, no egress at all.

resource "aws_security_group_rule" "database_ingress_ecs_tasks" {
  security_group_id        = aws_security_group.database.id
  description              = "Database port from the ECS tasks"
  type                     = "ingress"
  protocol                 = "tcp"
  from_port                = var.db_port
  to_port                  = var.db_port
  source_security_group_id = aws_security_group.ecs_tasks.id
}

resource "aws_security_group_rule" "cache_ingress_ecs_tasks" {
  security_group_id        = aws_security_group.cache.id
  description              = "Cache port from the ECS tasks"
  type                     = "ingress"
  protocol                 = "tcp"
  from_port                = var.cache_port
  to_port                  = var.cache_port
  source_security_group_id = aws_security_group.ecs_tasks.id
}
