output "distribution_id" {
  description = "ID of the CloudFront distribution."
  value       = aws_cloudfront_distribution.this.id
}

output "distribution_arn" {
  description = "ARN of the CloudFront distribution."
  value       = aws_cloudfront_distribution.this.arn
}

output "domain_name" {
  description = "Domain name of the distribution (dxxxxxxxxxxxxx.cloudfront.net), where clients fetch audio over HTTPS."
  value       = aws_cloudfront_distribution.this.domain_name
}

output "origin_access_identity_iam_arn" {
  description = "IAM ARN of the origin access identity; grant it s3:GetObject in the bucket policy (audio_storage's reader_iam_arns)."
  value       = aws_cloudfront_origin_access_identity.this.iam_arn
}

output "origin_access_identity_path" {
  description = "Path of the origin access identity (origin-access-identity/cloudfront/<id>), as used in s3_origin_config."
  value       = aws_cloudfront_origin_access_identity.this.cloudfront_access_identity_path
}
