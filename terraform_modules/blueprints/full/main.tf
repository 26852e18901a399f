# Blueprint "full": a complete Spotmusic environment (dev, staging or prod) with every component.

locals {
  name = "${var.name_prefix}-${var.environment}"
  tags = merge(var.tags, { Tier = var.tier, Blueprint = "full" })
  common = {
    environment = var.environment
    name_prefix = var.name_prefix
    tags        = local.tags
  }
  prod = var.tier == "prod"
}

module "network" {
  source = "../../modules/network"

  environment = local.common.environment
  name_prefix = local.common.name_prefix
  tags        = local.common.tags

  vpc_cidr = var.vpc_cidr
  # One NAT gateway per AZ in prod, so losing an AZ does not cut the other one off.
  single_nat_gateway = !local.prod
}

module "security_groups" {
  source = "../../modules/security_groups"

  environment = local.common.environment
  name_prefix = local.common.name_prefix
  tags        = local.common.tags

  vpc_id   = module.network.vpc_id
  app_port = var.container_port
}

# The environment's own remote-state store, for the Terraform stacks its teams run inside it.
module "state_backend" {
  source = "../../modules/state_backend"

  environment = local.common.environment
  name_prefix = local.common.name_prefix
  tags        = local.common.tags

  force_destroy = var.force_destroy_data
}

module "secrets" {
  source = "../../modules/secrets"

  environment = local.common.environment
  name_prefix = local.common.name_prefix
  tags        = local.common.tags

  db_username             = var.db_username
  db_password             = var.db_password
  db_name                 = var.db_name
  db_host                 = module.database.address
  db_port                 = module.database.port
  recovery_window_in_days = var.secret_recovery_window_days
  parameters = {
    "audio-bucket" = module.audio_storage.bucket_id
    "queue-url"    = module.queues.queue_url
    "redis-host"   = module.cache.primary_endpoint_address
    "cdn-domain"   = module.cdn.domain_name
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

  force_destroy   = var.force_destroy_data
  reader_iam_arns = [module.cdn.origin_access_identity_iam_arn]
}

module "cdn" {
  source = "../../modules/cdn"

  environment = local.common.environment
  name_prefix = local.common.name_prefix
  tags        = local.common.tags

  bucket_id                   = module.audio_storage.bucket_id
  bucket_regional_domain_name = module.audio_storage.bucket_regional_domain_name
  price_class                 = var.cdn_price_class
  wait_for_deployment         = var.cdn_wait_for_deployment
}

module "cache" {
  source = "../../modules/cache"

  environment = local.common.environment
  name_prefix = local.common.name_prefix
  tags        = local.common.tags

  subnet_ids            = module.network.private_subnet_ids
  security_group_ids    = [module.security_groups.cache_security_group_id]
  node_type             = var.cache_node_type
  number_cache_clusters = local.prod ? max(2, var.cache_nodes) : var.cache_nodes
}

module "queues" {
  source = "../../modules/queues"

  environment = local.common.environment
  name_prefix = local.common.name_prefix
  tags        = local.common.tags
}

module "database" {
  source = "../../modules/database"

  environment = local.common.environment
  name_prefix = local.common.name_prefix
  tags        = local.common.tags

  subnet_ids              = module.network.private_subnet_ids
  security_group_ids      = [module.security_groups.database_security_group_id]
  instance_class          = var.db_instance_class
  allocated_storage       = var.db_allocated_storage
  db_name                 = var.db_name
  username                = var.db_username
  password                = var.db_password
  multi_az                = local.prod || var.db_multi_az
  deletion_protection     = local.prod
  skip_final_snapshot     = var.db_skip_final_snapshot
  backup_retention_period = local.prod ? 14 : 7
}

module "api_gateway" {
  source = "../../modules/api_gateway"

  environment = local.common.environment
  name_prefix = local.common.name_prefix
  tags        = local.common.tags

  backend_url        = var.api_backend_url
  log_retention_days = var.log_retention_days
}

module "waf" {
  source = "../../modules/waf"

  environment = local.common.environment
  name_prefix = local.common.name_prefix
  tags        = local.common.tags

  resource_arn       = module.api_gateway.stage_arn
  rate_limit         = var.waf_rate_limit
  log_retention_days = var.log_retention_days
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
  db_instance_id         = module.database.instance_id
  cache_cluster_ids      = module.cache.cache_cluster_ids
  api_name               = module.api_gateway.rest_api_name
  api_stage_name         = module.api_gateway.stage_name
  web_acl_name           = module.waf.web_acl_name
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
    CDN_DOMAIN            = module.cdn.domain_name
    WORK_QUEUE_URL        = module.queues.queue_url
    REDIS_HOST            = module.cache.primary_endpoint_address
  }
  secrets = {
    DATABASE_CREDENTIALS = module.secrets.db_secret_arn
    APP_SECRET_KEY       = module.secrets.secure_parameter_arns["app-secret-key"]
  }
}
