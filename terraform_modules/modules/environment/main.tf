# The components every Spotmusic environment has, wired together: network, security groups, secrets,
# audio storage, queues, container registry, observability, IAM and ECS. A blueprint root calls this
# module and adds its own components around it (the full blueprint: state store, CDN, cache, database,
# API Gateway and WAF), passing what they give the services through the inputs below.

locals {
  tags = merge(var.tags, { Tier = var.tier, Blueprint = var.blueprint })
}

module "network" {
  source = "../network"

  environment = var.environment
  name_prefix = var.name_prefix
  tags        = local.tags

  vpc_cidr           = var.vpc_cidr
  single_nat_gateway = var.single_nat_gateway
}

module "security_groups" {
  source = "../security_groups"

  environment = var.environment
  name_prefix = var.name_prefix
  tags        = local.tags

  vpc_id   = module.network.vpc_id
  app_port = var.container_port
}

module "secrets" {
  source = "../secrets"

  environment = var.environment
  name_prefix = var.name_prefix
  tags        = local.tags

  db_username             = var.database.username
  db_password             = var.db_password
  db_name                 = var.database.name
  db_host                 = var.database.host
  db_port                 = var.database.port
  recovery_window_in_days = var.secret_recovery_window_days
  parameters = merge(var.extra_parameters, {
    "audio-bucket" = module.audio_storage.bucket_id
    "queue-url"    = module.queues.queue_url
    "log-level"    = var.log_level
  })
  secure_parameters = {
    "app-secret-key" = var.app_secret_key
  }
}

module "audio_storage" {
  source = "../audio_storage"

  environment = var.environment
  name_prefix = var.name_prefix
  tags        = local.tags

  force_destroy   = var.force_destroy_data
  reader_iam_arns = var.audio_reader_arns
}

module "queues" {
  source = "../queues"

  environment = var.environment
  name_prefix = var.name_prefix
  tags        = local.tags
}

module "container_registry" {
  source = "../container_registry"

  environment = var.environment
  name_prefix = var.name_prefix
  tags        = local.tags
}

module "observability" {
  source = "../observability"

  environment = var.environment
  name_prefix = var.name_prefix
  tags        = local.tags

  log_retention_days     = var.log_retention_days
  ecs_cluster_name       = module.ecs.cluster_name
  queue_name             = module.queues.queue_name
  dead_letter_queue_name = module.queues.dead_letter_queue_name
  db_instance_id         = var.monitored.db_instance_id
  cache_cluster_ids      = var.monitored.cache_cluster_ids
  api_name               = var.monitored.api_name
  api_stage_name         = var.monitored.api_stage_name
  web_acl_name           = var.monitored.web_acl_name
}

module "iam" {
  source = "../iam"

  environment = var.environment
  name_prefix = var.name_prefix
  tags        = local.tags

  audio_bucket_arn    = module.audio_storage.bucket_arn
  queue_arns          = [module.queues.queue_arn, module.queues.dead_letter_queue_arn]
  secret_arns         = [module.secrets.db_secret_arn]
  ssm_parameter_arns  = values(module.secrets.parameter_arns)
  log_group_arns      = values(module.observability.log_group_arns)
  ecr_repository_arns = values(module.container_registry.repository_arns)
}

module "ecs" {
  source = "../ecs"

  environment = var.environment
  name_prefix = var.name_prefix
  tags        = local.tags

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
  environment_variables = merge(var.extra_service_environment, {
    SPOTMUSIC_ENVIRONMENT = var.environment
    AUDIO_BUCKET          = module.audio_storage.bucket_id
    WORK_QUEUE_URL        = module.queues.queue_url
  })
  secrets = {
    DATABASE_CREDENTIALS = module.secrets.db_secret_arn
    APP_SECRET_KEY       = module.secrets.secure_parameter_arns["app-secret-key"]
  }
}
