# Security groups of the API load balancer, the ECS tasks, the database and the cache, each letting in
# only the tier in front of it.
#
# Terraform owns every group's ingress exclusively: the rules are inline `ingress` blocks, so a rule added
# outside Terraform (the console, the CLI) shows in the next plan and an apply removes it. The groups
# reference each other (the tasks admit the load balancer, the load balancer sends to the tasks), and inline
# rules both ways would make a dependency cycle; ingress inline everywhere only points down the chain
# database/cache -> ecs_tasks -> api. The two egress rules that name another group stay separate
# aws_security_group_rule resources on api and ecs_tasks; the data stores, which send nothing, declare an
# empty inline egress (`egress = []`), so Terraform owns their egress as well.
#
# The inline rules are written as attributes (`ingress = [{…}]`, every field given) rather than blocks:
# `terraform show -json` keeps an attribute's references, so the pre-apply audit knows which group a rule
# admits before that group exists.

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

  ingress = [
    {
      description      = "HTTP from the allowed CIDRs"
      protocol         = "tcp"
      from_port        = 80
      to_port          = 80
      cidr_blocks      = var.api_ingress_cidrs
      ipv6_cidr_blocks = []
      prefix_list_ids  = []
      security_groups  = []
      self             = false
    },
    {
      description      = "HTTPS from the allowed CIDRs"
      protocol         = "tcp"
      from_port        = 443
      to_port          = 443
      cidr_blocks      = var.api_ingress_cidrs
      ipv6_cidr_blocks = []
      prefix_list_ids  = []
      security_groups  = []
      self             = false
    },
  ]

  tags = merge(local.tags, { Name = "${local.name}-api" })
}

resource "aws_security_group" "ecs_tasks" {
  name        = "${local.name}-ecs-tasks"
  description = "ECS tasks: app port from the API load balancer"
  vpc_id      = var.vpc_id

  ingress = [
    {
      description      = "App port from the API load balancer"
      protocol         = "tcp"
      from_port        = var.app_port
      to_port          = var.app_port
      cidr_blocks      = []
      ipv6_cidr_blocks = []
      prefix_list_ids  = []
      security_groups  = [aws_security_group.api.id]
      self             = false
    },
  ]

  tags = merge(local.tags, { Name = "${local.name}-ecs-tasks" })
}

# Data stores: ingress from the ECS tasks only, no egress at all.

resource "aws_security_group" "database" {
  name        = "${local.name}-database"
  description = "Database: db port from the ECS tasks"
  vpc_id      = var.vpc_id

  ingress = [
    {
      description      = "Database port from the ECS tasks"
      protocol         = "tcp"
      from_port        = var.db_port
      to_port          = var.db_port
      cidr_blocks      = []
      ipv6_cidr_blocks = []
      prefix_list_ids  = []
      security_groups  = [aws_security_group.ecs_tasks.id]
      self             = false
    },
  ]

  egress = []

  tags = merge(local.tags, { Name = "${local.name}-database" })
}

resource "aws_security_group" "cache" {
  name        = "${local.name}-cache"
  description = "Redis cache: cache port from the ECS tasks"
  vpc_id      = var.vpc_id

  ingress = [
    {
      description      = "Cache port from the ECS tasks"
      protocol         = "tcp"
      from_port        = var.cache_port
      to_port          = var.cache_port
      cidr_blocks      = []
      ipv6_cidr_blocks = []
      prefix_list_ids  = []
      security_groups  = [aws_security_group.ecs_tasks.id]
      self             = false
    },
  ]

  egress = []

  tags = merge(local.tags, { Name = "${local.name}-cache" })
}

# Egress that names another group: separate rules (inline, each would close a cycle with that group's ingress).

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
