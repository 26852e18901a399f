# Shared by every blueprint (symlinked): the components every Spotmusic environment has, wired
# together. Each blueprint's main.tf sets the locals marked "blueprint" below and adds its own
# components (the full blueprint: state store, CDN, cache, database, API Gateway, WAF).
#
# Locals each blueprint defines:
#   blueprint                 its name, tagged on every resource
#   single_nat_gateway        one NAT gateway, or one per AZ
#   database                  {username, name, host, port} of the database the services use
#   extra_parameters          SSM String parameters beyond the common ones
#   audio_reader_arns         IAM ARNs allowed to read audio objects (the CDN's origin access identity)
#   monitored                 {db_instance_id, cache_cluster_ids, api_name, api_stage_name, web_acl_name}
#   extra_service_environment environment variables of both services beyond the common ones

locals {
  common = {
    environment = var.environment
    name_prefix = var.name_prefix
    tags        = merge(var.tags, { Tier = var.tier, Blueprint = local.blueprint })
  }
}

module "network" {
  source = "../../modules/network"

  environment = local.common.environment
  name_prefix = local.common.name_prefix
  tags        = local.common.tags

  vpc_cidr           = var.vpc_cidr
  single_nat_gateway = local.single_nat_gateway
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

  db_username             = local.database.username
  db_password             = var.db_password
  db_name                 = local.database.name
  db_host                 = local.database.host
  db_port                 = local.database.port
  recovery_window_in_days = var.secret_recovery_window_days
  parameters = merge(local.extra_parameters, {
    "audio-bucket" = module.audio_storage.bucket_id
    "queue-url"    = module.queues.queue_url
    "log-level"    = var.log_level
  })
  secure_parameters = {
    "app-secret-key" = var.app_secret_key
  }
}

module "audio_storage" {
  source = "../../modules/audio_storage"

  environment = local.common.environment
  name_prefix = local.common.name_prefix
  tags        = local.common.tags

  force_destroy   = var.force_destroy_data
  reader_iam_arns = local.audio_reader_arns
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
  db_instance_id         = local.monitored.db_instance_id
  cache_cluster_ids      = local.monitored.cache_cluster_ids
  api_name               = local.monitored.api_name
  api_stage_name         = local.monitored.api_stage_name
  web_acl_name           = local.monitored.web_acl_name
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
  environment_variables = merge(local.extra_service_environment, {
    SPOTMUSIC_ENVIRONMENT = var.environment
    AUDIO_BUCKET          = module.audio_storage.bucket_id
    WORK_QUEUE_URL        = module.queues.queue_url
  })
  secrets = {
    DATABASE_CREDENTIALS = module.secrets.db_secret_arn
    APP_SECRET_KEY       = module.secrets.secure_parameter_arns["app-secret-key"]
  }
}
