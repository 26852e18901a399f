output "instance_id" {
  description = "Identifier of the RDS instance (known at plan time, e.g. for CloudWatch alarm dimensions)."
  value       = local.identifier
}

output "instance_arn" {
  description = "ARN of the RDS instance."
  value       = aws_db_instance.this.arn
}

output "address" {
  description = "DNS name of the instance (without port)."
  value       = aws_db_instance.this.address
}

output "endpoint" {
  description = "Connection endpoint, <address>:<port>."
  value       = aws_db_instance.this.endpoint
}

output "port" {
  description = "Port MySQL listens on."
  value       = aws_db_instance.this.port
}

output "db_name" {
  description = "Name of the database created in the instance."
  value       = aws_db_instance.this.name
}

output "username" {
  description = "Name of the master user."
  value       = aws_db_instance.this.username
}

output "parameter_group_name" {
  description = "Name of the instance's MySQL parameter group."
  value       = aws_db_parameter_group.this.name
}

output "subnet_group_name" {
  description = "Name of the instance's DB subnet group."
  value       = aws_db_subnet_group.this.name
}
