locals {
  name = "${var.name_prefix}-${var.environment}"
  tags = merge(var.tags, { Environment = var.environment, Component = "ecs", ManagedBy = "terraform" })

  # Names are built from inputs only, so other modules (alarms, dashboards) can use them at plan time.
  cluster_name = local.name
  service_names = {
    web-api = "${local.name}-web-api"
    workers = "${local.name}-workers"
  }

  # Sorted by name: the same variables always render the same task definition.
  environment = [for name in sort(keys(var.environment_variables)) : { name = name, value = var.environment_variables[name] }]
  secrets     = [for name in sort(keys(var.secrets)) : { name = name, valueFrom = var.secrets[name] }]

  # A read-only root filesystem still needs somewhere to write temporary files.
  tmp_volume = "tmp"
  mount_points = var.readonly_root_filesystem ? [{
    sourceVolume  = local.tmp_volume
    containerPath = "/tmp"
    readOnly      = false
  }] : []

  container_defaults = {
    essential              = true
    readonlyRootFilesystem = var.readonly_root_filesystem
    environment            = local.environment
    secrets                = local.secrets
    mountPoints            = local.mount_points
    volumesFrom            = []
  }

  web_api_container = merge(local.container_defaults, {
    name  = "web-api"
    image = var.web_api_image
    portMappings = [{
      containerPort = var.container_port
      hostPort      = var.container_port
      protocol      = "tcp"
    }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = var.log_group_names["web-api"]
        awslogs-region        = data.aws_region.current.name
        awslogs-stream-prefix = "web-api"
      }
    }
  })

  workers_container = merge(local.container_defaults, {
    name         = "workers"
    image        = var.workers_image
    portMappings = []
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = var.log_group_names["workers"]
        awslogs-region        = data.aws_region.current.name
        awslogs-stream-prefix = "workers"
      }
    }
  }, local.workers_command)

  # No "command" key at all when the list is empty, so the image's CMD applies.
  workers_command = { for key, command in { command = var.workers_command } : key => command if length(command) > 0 }

  # One task definition and one service each, keyed by the service's name (the keys of service_names).
  services = {
    web-api = {
      cpu                   = var.web_api_cpu
      memory                = var.web_api_memory
      task_role_arn         = var.web_api_task_role_arn
      desired_count         = var.web_api_desired_count
      container_definitions = jsonencode([local.web_api_container])
    }
    workers = {
      cpu                   = var.workers_cpu
      memory                = var.workers_memory
      task_role_arn         = var.workers_task_role_arn
      desired_count         = var.workers_desired_count
      container_definitions = jsonencode([local.workers_container])
    }
  }
}

data "aws_region" "current" {}

resource "aws_ecs_cluster" "this" {
  name               = local.cluster_name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = merge(local.tags, { Name = local.cluster_name })
}

resource "aws_ecs_task_definition" "this" {
  for_each = local.services

  family                   = local.service_names[each.key]
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(each.value.cpu)
  memory                   = tostring(each.value.memory)
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = each.value.task_role_arn
  container_definitions    = each.value.container_definitions

  dynamic "volume" {
    for_each = var.readonly_root_filesystem ? [local.tmp_volume] : []

    content {
      name = volume.value
    }
  }

  tags = merge(local.tags, { Name = local.service_names[each.key], Service = each.key })
}

resource "aws_ecs_service" "this" {
  for_each = local.services

  name            = local.service_names[each.key]
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.this[each.key].arn
  desired_count   = each.value.desired_count
  launch_type     = "FARGATE"

  # Rolling deployments: a replacement starts before the old task stops (the workers take jobs from a
  # queue, so two at once is safe for them too).
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  # A deployment whose tasks keep failing stops and rolls back to the last working task definition.
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = var.security_group_ids
    assign_public_ip = false
  }

  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"

  tags = merge(local.tags, { Name = local.service_names[each.key], Service = each.key })
}
