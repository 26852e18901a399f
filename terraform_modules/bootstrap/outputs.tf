output "backend_config" {
  description = "The -backend-config settings (bucket, dynamodb_table, region, encrypt) of every blueprint's S3 backend."
  value       = module.state_backend.backend_config
}
