locals {
  name = "${var.name_prefix}-${var.environment}"
  tags = merge(var.tags, { Environment = var.environment, Component = "secrets", ManagedBy = "terraform" })

  parameter_path = "/${var.name_prefix}/${var.environment}"

  # Parameter names are not secret, and for_each keys must never be sensitive.
  secure_parameter_keys = nonsensitive(toset(keys(var.secure_parameters)))
}

resource "aws_secretsmanager_secret" "database" {
  name                    = "${local.name}/database"
  description             = "MySQL connection settings of ${local.name}."
  kms_key_id              = var.kms_key_id
  recovery_window_in_days = var.recovery_window_in_days

  tags = merge(local.tags, { Name = "${local.name}/database" })
}

resource "aws_secretsmanager_secret_version" "database" {
  secret_id = aws_secretsmanager_secret.database.id
  secret_string = jsonencode({
    engine   = "mysql"
    username = var.db_username
    password = var.db_password
    dbname   = var.db_name
    host     = var.db_host
    port     = var.db_port
  })
}

resource "aws_ssm_parameter" "this" {
  for_each = var.parameters

  name  = "${local.parameter_path}/${each.key}"
  type  = "String"
  value = each.value

  tags = merge(local.tags, { Name = "${local.parameter_path}/${each.key}" })
}

resource "aws_ssm_parameter" "secure" {
  for_each = local.secure_parameter_keys

  name   = "${local.parameter_path}/${each.key}"
  type   = "SecureString"
  key_id = var.ssm_kms_key_id
  value  = var.secure_parameters[each.key]

  tags = merge(local.tags, { Name = "${local.parameter_path}/${each.key}" })
}
