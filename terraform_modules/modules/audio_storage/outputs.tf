output "bucket_id" {
  description = "Name (ID) of the audio bucket."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the audio bucket."
  value       = aws_s3_bucket.this.arn
}

output "bucket_regional_domain_name" {
  description = "Region-specific domain name of the bucket, the origin domain for CloudFront."
  value       = aws_s3_bucket.this.bucket_regional_domain_name
}
