output "bucket_name" {
  description = "Name of the state bucket."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the state bucket."
  value       = aws_s3_bucket.this.arn
}

output "lock_table_name" {
  description = "Name of the DynamoDB lock table."
  value       = aws_dynamodb_table.lock.name
}

output "lock_table_arn" {
  description = "ARN of the DynamoDB lock table."
  value       = aws_dynamodb_table.lock.arn
}

output "backend_config" {
  description = "Settings for `terraform init -backend-config=...` of an \"s3\" backend using this bucket and table (add the state key)."
  value = merge(
    {
      bucket         = aws_s3_bucket.this.id
      dynamodb_table = aws_dynamodb_table.lock.name
      region         = data.aws_region.current.name
      encrypt        = "true"
    },
    { for key, value in { kms_key_id = var.kms_key_arn } : key => value if value != "" },
  )
}
