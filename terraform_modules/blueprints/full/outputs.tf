# Outputs of the full blueprint beyond those every blueprint shares (root_outputs.tf).

output "api_invoke_url" {
  description = "Invoke URL of the web API's API Gateway stage."
  value       = module.api_gateway.invoke_url
}

output "cdn_domain_name" {
  description = "Domain name of the CloudFront distribution serving audio."
  value       = module.cdn.domain_name
}

output "database_endpoint" {
  description = "Endpoint (host:port) of the MySQL database."
  value       = module.database.endpoint
}

output "redis_endpoint" {
  description = "Primary endpoint address of the Redis cache."
  value       = module.cache.primary_endpoint_address
}

output "waf_web_acl_arn" {
  description = "ARN of the WAF web ACL protecting the API."
  value       = module.waf.web_acl_arn
}

output "state_backend" {
  description = "S3 backend settings of the environment's own remote-state store."
  value       = module.state_backend.backend_config
}
