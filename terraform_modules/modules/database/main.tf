# MySQL on RDS in private subnets: encrypted storage that grows on its own, TLS-only connections,
# error and slow-query logs in CloudWatch, backups and a final snapshot unless told otherwise.

locals {
  name = "${var.name_prefix}-${var.environment}"
  tags = merge(var.tags, { Environment = var.environment, Component = "database", ManagedBy = "terraform" })

  identifier             = "${local.name}-mysql"
  engine_major_minor     = join(".", slice(split(".", var.engine_version), 0, 2))
  parameter_group_family = "mysql${local.engine_major_minor}"

  # An exact release ("8.0.35") stays until the variable changes; a major.minor ("8.0") lets AWS apply
  # minor releases, which hashicorp/aws then does not report as a change to undo.
  auto_minor_version_upgrade = length(split(".", var.engine_version)) == 2

  # The final snapshot outlives the instance, so its name must not be the next instance's of the same name (an
  # environment re-created under its name): it carries the ID AWS gave the database's first security group, new
  # with each environment and stable while it lives (a changed identifier is updated in place, never a
  # replacement). Terraform's own random_id would need the hashicorp/random provider, which the offline provider
  # mirror does not hold.
  final_snapshot_identifier = "${local.name}-final-${trimprefix(var.security_group_ids[0], "sg-")}"
}

resource "aws_db_subnet_group" "this" {
  name        = local.identifier
  description = "Private subnets of the ${local.name} MySQL database"
  subnet_ids  = var.subnet_ids

  tags = merge(local.tags, { Name = local.identifier })
}

resource "aws_db_parameter_group" "this" {
  # The family is part of the name so that a major upgrade creates the new group before the old one
  # (still attached to the instance) is deleted.
  name        = "${local.name}-${replace(local.parameter_group_family, ".", "-")}"
  family      = local.parameter_group_family
  description = "MySQL parameters of ${local.name}"

  # Clients must connect with TLS.
  parameter {
    name  = "require_secure_transport"
    value = "ON"
  }

  parameter {
    name  = "character_set_server"
    value = "utf8mb4"
  }

  parameter {
    name  = "collation_server"
    value = "utf8mb4_0900_ai_ci"
  }

  # The slow query log goes to a file so RDS can publish it to CloudWatch Logs.
  parameter {
    name  = "slow_query_log"
    value = "1"
  }

  parameter {
    name  = "long_query_time"
    value = "2"
  }

  parameter {
    name  = "log_output"
    value = "FILE"
  }

  tags = merge(local.tags, { Name = "${local.name}-${replace(local.parameter_group_family, ".", "-")}" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_instance" "this" {
  identifier = local.identifier

  engine                      = "mysql"
  engine_version              = var.engine_version
  auto_minor_version_upgrade  = local.auto_minor_version_upgrade
  allow_major_version_upgrade = false
  instance_class              = var.instance_class
  parameter_group_name        = aws_db_parameter_group.this.name

  name     = var.db_name
  username = var.username
  password = var.password
  port     = 3306

  # gp2: hashicorp/aws 3.x cannot manage gp3's baseline iops/throughput without a diff on every plan.
  storage_type          = "gp2"
  allocated_storage     = var.allocated_storage
  max_allocated_storage = var.max_allocated_storage
  storage_encrypted     = true
  kms_key_id            = var.kms_key_id

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = var.security_group_ids
  publicly_accessible    = false
  multi_az               = var.multi_az

  backup_retention_period   = var.backup_retention_period
  backup_window             = var.backup_window
  maintenance_window        = var.maintenance_window
  copy_tags_to_snapshot     = true
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = var.skip_final_snapshot
  final_snapshot_identifier = var.skip_final_snapshot ? null : local.final_snapshot_identifier
  apply_immediately         = var.apply_immediately

  enabled_cloudwatch_logs_exports = ["error", "slowquery"]

  tags = merge(local.tags, { Name = local.identifier })
}
