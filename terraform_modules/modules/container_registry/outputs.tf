output "repository_urls" {
  description = "Repository URL (<account>.dkr.ecr.<region>.amazonaws.com/<name>) by short repository name; push and pull images here."
  value       = { for repository, this in aws_ecr_repository.this : repository => this.repository_url }
}

output "repository_arns" {
  description = "Repository ARN by short repository name, for IAM policies (e.g. the CI role that pushes images)."
  value       = { for repository, this in aws_ecr_repository.this : repository => this.arn }
}

output "repository_names" {
  description = "Full repository name (<name_prefix>/<environment>/<repository>) by short repository name; known at plan time."
  value       = local.repository_names
}
