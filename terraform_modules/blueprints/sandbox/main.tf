# Blueprint "sandbox": a cheap, short-lived Spotmusic environment for a feature branch.
# Network, IAM, security groups, secrets, audio storage, queues, observability, container registry
# and ECS; no database, cache, CDN, WAF or API Gateway (the full blueprint has them).

locals {
  name = "${var.name_prefix}-${var.environment}"
  tags = merge(var.tags, { Tier = var.tier, Blueprint = "sandbox" })
  common = {
    environment = var.environment
    name_prefix = var.name_prefix
    tags        = local.tags
  }
}

module "network" {
  source = "../../modules/network"

  environment = local.common.environment
  name_prefix = local.common.name_prefix
  tags        = local.common.tags

  vpc_cidr           = var.vpc_cidr
  single_nat_gateway = true
}

module "security_groups" {
  source = "../../modules/security_groups"

  environment = local.common.environment
  name_prefix = local.common.name_prefix
  tags        = local.common.tags

  vpc_id   = module.network.vpc_id
  app_port = var.container_port
}

module "secrets" {
  source = "../../modules/secrets"

  environment = local.common.environment
  name_prefix = local.common.name_prefix
  tags        = local.common.tags

  db_password             = var.db_password
  recovery_window_in_days = var.secret_recovery_window_days
  parameters = {
    "audio-bucket" = module.audio_storage.bucket_id
    "queue-url"    = module.queues.queue_url
    "log-level"    = var.log_level
  }
  secure_parameters = {
    "app-secret-key" = var.app_secret_key
  }
}

module "audio_storage" {
  source = "../../modules/audio_storage"

  environment = local.common.environment
  name_prefix = local.common.name_prefix
  tags        = local.common.tags

  force_destroy = var.force_destroy_data
}

module "queues" {
  source = "../../modules/queues"

  environment = local.common.environment
  name_prefix = local.common.name_prefix
  tags        = local.common.tags
}

module "container_registry" {
  source = "../../modules/container_registry"

  environment = local.common.environment
  name_prefix = local.common.name_prefix
  tags        = local.common.tags
}

module "observability" {
  source = "../../modules/observability"

  environment = local.common.environment
  name_prefix = local.common.name_prefix
  tags        = local.common.tags

  log_retention_days     = var.log_retention_days
  ecs_cluster_name       = module.ecs.cluster_name
  queue_name             = module.queues.queue_name
  dead_letter_queue_name = module.queues.dead_letter_queue_name
}

module "iam" {
  source = "../../modules/iam"

  environment = local.common.environment
  name_prefix = local.common.name_prefix
  tags        = local.common.tags

  audio_bucket_arn    = module.audio_storage.bucket_arn
  queue_arns          = [module.queues.queue_arn, module.queues.dead_letter_queue_arn]
  secret_arns         = [module.secrets.db_secret_arn]
  ssm_parameter_arns  = values(module.secrets.parameter_arns)
  log_group_arns      = values(module.observability.log_group_arns)
  ecr_repository_arns = values(module.container_registry.repository_arns)
}

module "ecs" {
  source = "../../modules/ecs"

  environment = local.common.environment
  name_prefix = local.common.name_prefix
  tags        = local.common.tags

  private_subnet_ids    = module.network.private_subnet_ids
  security_group_ids    = [module.security_groups.ecs_tasks_security_group_id]
  execution_role_arn    = module.iam.task_execution_role_arn
  web_api_task_role_arn = module.iam.web_api_task_role_arn
  workers_task_role_arn = module.iam.workers_task_role_arn
  web_api_image         = "${module.container_registry.repository_urls["web-api"]}:${var.image_tag}"
  workers_image         = "${module.container_registry.repository_urls["workers"]}:${var.image_tag}"
  web_api_desired_count = var.web_api_desired_count
  workers_desired_count = var.workers_desired_count
  container_port        = var.container_port
  log_group_names       = module.observability.log_group_names
  environment_variables = {
    SPOTMUSIC_ENVIRONMENT = var.environment
    AUDIO_BUCKET          = module.audio_storage.bucket_id
    WORK_QUEUE_URL        = module.queues.queue_url
  }
  secrets = {
    DATABASE_CREDENTIALS = module.secrets.db_secret_arn
    APP_SECRET_KEY       = module.secrets.secure_parameter_arns["app-secret-key"]
  }
}
