# Blueprint "sandbox": a cheap, short-lived Spotmusic environment for a feature branch: its network,
# IAM roles, security groups, secrets, audio storage, queues, logs and alarms, container registry and ECS
# services; no database, cache, CDN, WAF or API Gateway (the full blueprint has them).
#
# (The paragraph above is the blueprint's description in Launchpad: it says what a user gets, never where it is
# written.) Every component comes from modules/environment, shared with the full blueprint.

module "environment" {
  source = "../../modules/environment"

  environment = var.environment
  name_prefix = var.name_prefix
  tags        = var.tags
  blueprint   = "sandbox"
  tier        = var.tier

  vpc_cidr           = var.vpc_cidr
  single_nat_gateway = true

  # No database of its own: the credentials kept are those the services would use for a shared one.
  database = {
    username = "spotmusic"
    name     = "spotmusic"
    host     = ""
    port     = 3306
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
}
