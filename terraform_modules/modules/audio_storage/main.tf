locals {
  name = "${var.name_prefix}-${var.environment}"
  tags = merge(var.tags, { Environment = var.environment, Component = "audio_storage", ManagedBy = "terraform" })

  bucket_name = var.bucket_name != "" ? var.bucket_name : "${local.name}-audio"
  use_kms     = var.kms_key_arn != ""
  # Built from the name rather than read from the bucket, so that an in-place change of the bucket
  # (a lifecycle setting) does not defer the policy document to apply time and re-put an unchanged policy.
  bucket_arn = "arn:${data.aws_partition.current.partition}:s3:::${local.bucket_name}"
}

data "aws_partition" "current" {}

resource "aws_s3_bucket" "this" {
  bucket        = local.bucket_name
  force_destroy = var.force_destroy

  versioning {
    enabled = true
  }

  server_side_encryption_configuration {
    rule {
      apply_server_side_encryption_by_default {
        sse_algorithm     = local.use_kms ? "aws:kms" : "AES256"
        kms_master_key_id = local.use_kms ? var.kms_key_arn : null
      }
      # An S3 Bucket Key cuts the KMS requests (and their cost) per object; it has no meaning for AES256.
      bucket_key_enabled = local.use_kms
    }
  }

  lifecycle_rule {
    id                                     = "audio-tiering"
    enabled                                = true
    abort_incomplete_multipart_upload_days = 7

    transition {
      days          = var.transition_to_ia_days
      storage_class = "STANDARD_IA"
    }

    transition {
      days          = var.transition_to_glacier_days
      storage_class = "GLACIER"
    }

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

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [local.bucket_arn, "${local.bucket_arn}/*"]

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

  # The readers' ARNs are often unknown until apply (a CloudFront origin access identity created in the
  # same run), so they appear only inside the document, never in a count or for_each.
  dynamic "statement" {
    for_each = length(var.reader_iam_arns) > 0 ? [true] : []

    content {
      sid       = "AllowReadersGetObject"
      effect    = "Allow"
      actions   = ["s3:GetObject"]
      resources = ["${local.bucket_arn}/*"]

      principals {
        type        = "AWS"
        identifiers = var.reader_iam_arns
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.this.json

  # S3 rejects concurrent changes to a bucket's policy and its public access block (OperationAborted).
  depends_on = [aws_s3_bucket_public_access_block.this]
}
