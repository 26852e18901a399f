# Blueprint "full": a complete Spotmusic environment (dev, staging or prod) with every component: the
# sandbox's network, IAM roles, security groups, secrets, audio storage, queues, logs and alarms, container
# registry and ECS services, plus a MySQL database, a Redis cache, an audio CDN, an API Gateway behind a WAF,
# and a state store for the teams' own Terraform.
#
# (The paragraph above is the blueprint's description in Launchpad: it says what a user gets, never where it is
# written.) The common components come from modules/environment, shared with the sandbox blueprint; the state
# store, CDN, cache, database, API Gateway and WAF are called here.

locals {
  prod = var.tier == "prod"
}

module "environment" {
  source = "../../modules/environment"

  environment = var.environment
  name_prefix = var.name_prefix
  tags        = var.tags
  blueprint   = "full"
  tier        = var.tier

  vpc_cidr = var.vpc_cidr
  # One NAT gateway per AZ in prod, so losing an AZ does not cut the other one off.
  single_nat_gateway = !local.prod

  database = {
    username = var.db_username
    name     = var.db_name
    host     = module.database.address
    port     = module.database.port
  }
  db_password                 = var.db_password
  app_secret_key              = var.app_secret_key
  secret_recovery_window_days = var.secret_recovery_window_days
  force_destroy_data          = var.force_destroy_data

  image_tag             = var.image_tag
  web_api_desired_count = var.web_api_desired_count
  workers_desired_count = var.workers_desired_count
  container_port        = var.container_port
  log_level             = var.log_level
  log_retention_days    = var.log_retention_days

  extra_parameters = {
    "redis-host" = module.cache.primary_endpoint_address
    "cdn-domain" = module.cdn.domain_name
  }
  extra_service_environment = {
    CDN_DOMAIN = module.cdn.domain_name
    REDIS_HOST = module.cache.primary_endpoint_address
  }
  audio_reader_arns = [module.cdn.origin_access_identity_iam_arn]
  monitored = {
    db_instance_id    = module.database.instance_id
    cache_cluster_ids = module.cache.cache_cluster_ids
    api_name          = module.api_gateway.rest_api_name
    api_stage_name    = module.api_gateway.stage_name
    web_acl_name      = module.waf.web_acl_name
  }
}

# The environment's own remote-state store, for the Terraform stacks its teams run inside it.
module "state_backend" {
  source = "../../modules/state_backend"

  environment = var.environment
  name_prefix = var.name_prefix
  tags        = module.environment.tags

  force_destroy = var.force_destroy_data
}

module "cdn" {
  source = "../../modules/cdn"

  environment = var.environment
  name_prefix = var.name_prefix
  tags        = module.environment.tags

  bucket_id                   = module.environment.audio_bucket_id
  bucket_regional_domain_name = module.environment.audio_bucket_regional_domain_name
  price_class                 = var.cdn_price_class
  wait_for_deployment         = var.cdn_wait_for_deployment
}

module "cache" {
  source = "../../modules/cache"

  environment = var.environment
  name_prefix = var.name_prefix
  tags        = module.environment.tags

  subnet_ids            = module.environment.private_subnet_ids
  security_group_ids    = [module.environment.cache_security_group_id]
  node_type             = var.cache_node_type
  number_cache_clusters = local.prod ? max(2, var.cache_nodes) : var.cache_nodes
}

module "database" {
  source = "../../modules/database"

  environment = var.environment
  name_prefix = var.name_prefix
  tags        = module.environment.tags

  subnet_ids              = module.environment.private_subnet_ids
  security_group_ids      = [module.environment.database_security_group_id]
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

  environment = var.environment
  name_prefix = var.name_prefix
  tags        = module.environment.tags

  backend_url        = var.api_backend_url
  log_retention_days = var.log_retention_days
}

module "waf" {
  source = "../../modules/waf"

  environment = var.environment
  name_prefix = var.name_prefix
  tags        = module.environment.tags

  resource_arn       = module.api_gateway.stage_arn
  rate_limit         = var.waf_rate_limit
  log_retention_days = var.log_retention_days
}
