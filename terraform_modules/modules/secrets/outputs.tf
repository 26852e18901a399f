output "db_secret_arn" {
  description = "ARN of the database secret (JSON: engine, username, password, dbname, host, port)."
  value       = aws_secretsmanager_secret.database.arn
}

output "db_secret_name" {
  description = "Name of the database secret (<name_prefix>-<environment>/database)."
  value       = aws_secretsmanager_secret.database.name
}

output "parameter_arns" {
  description = "ARN of every SSM parameter (String and SecureString), by its relative key."
  value = merge(
    { for key, parameter in aws_ssm_parameter.this : key => parameter.arn },
    { for key, parameter in aws_ssm_parameter.secure : key => parameter.arn },
  )
}

output "parameter_names" {
  description = "Full name of every SSM parameter (/<name_prefix>/<environment>/<key>), by its relative key."
  value = merge(
    { for key, parameter in aws_ssm_parameter.this : key => parameter.name },
    { for key, parameter in aws_ssm_parameter.secure : key => parameter.name },
  )
}

output "secure_parameter_arns" {
  description = "ARN of each SecureString parameter, by its relative key (for ECS task definition secrets)."
  value       = { for key, parameter in aws_ssm_parameter.secure : key => parameter.arn }
}
