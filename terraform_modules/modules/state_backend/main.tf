# S3 bucket and DynamoDB lock table for Terraform's "s3" backend: versioned, encrypted, private,
# reachable over TLS only.

locals {
  name = "${var.name_prefix}-${var.environment}"
  tags = merge(var.tags, { Environment = var.environment, Component = "state_backend", ManagedBy = "terraform" })

  bucket_name     = var.bucket_name != "" ? var.bucket_name : "${local.name}-tfstate"
  lock_table_name = var.lock_table_name != "" ? var.lock_table_name : "${local.name}-tflock"
}

data "aws_region" "current" {}

resource "aws_s3_bucket" "this" {
  bucket        = local.bucket_name
  acl           = "private"
  force_destroy = var.force_destroy

  # Every state write keeps the previous version, so a broken apply can be rolled back.
  versioning {
    enabled = true
  }

  server_side_encryption_configuration {
    rule {
      apply_server_side_encryption_by_default {
        sse_algorithm     = var.kms_key_arn != "" ? "aws:kms" : "AES256"
        kms_master_key_id = var.kms_key_arn != "" ? var.kms_key_arn : null
      }
    }
  }

  lifecycle_rule {
    id      = "expire-noncurrent-state-versions"
    enabled = true

    abort_incomplete_multipart_upload_days = 7

    noncurrent_version_expiration {
      days = var.noncurrent_version_expiration_days
    }
  }

  tags = merge(local.tags, { Name = local.bucket_name })
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

data "aws_iam_policy_document" "tls_only" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this.arn,
      "${aws_s3_bucket.this.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.tls_only.json

  # S3 refuses concurrent changes to a bucket's policy and public access block.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_dynamodb_table" "lock" {
  name         = local.lock_table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "LockID"

  attribute {
    name = "LockID"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn != "" ? var.kms_key_arn : null
  }

  tags = merge(local.tags, { Name = local.lock_table_name })
}
