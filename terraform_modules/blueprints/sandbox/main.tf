# Blueprint "sandbox": a cheap, short-lived Spotmusic environment for a feature branch.
# Network, IAM, security groups, secrets, audio storage, queues, observability, container registry
# and ECS (all in core.tf, shared with the full blueprint); no database, cache, CDN, WAF or API
# Gateway (the full blueprint has them).

locals {
  blueprint          = "sandbox"
  single_nat_gateway = true
  # No database of its own: the credentials kept are those the services would use for a shared one.
  database = {
    username = "spotmusic"
    name     = "spotmusic"
    host     = ""
    port     = 3306
  }
  extra_parameters  = {}
  audio_reader_arns = []
  monitored = {
    db_instance_id    = ""
    cache_cluster_ids = []
    api_name          = ""
    api_stage_name    = ""
    web_acl_name      = ""
  }
  extra_service_environment = {}
}
