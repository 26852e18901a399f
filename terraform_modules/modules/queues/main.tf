locals {
  name = "${var.name_prefix}-${var.environment}"
  tags = merge(var.tags, { Environment = var.environment, Component = "queues", ManagedBy = "terraform" })

  # SQS's maximum: a message that failed max_receive_count times stays available for inspection.
  dead_letter_retention_seconds = 1209600
  # Long polling: a receive waits up to 20 s (the maximum) for a message instead of returning empty at once.
  receive_wait_time_seconds = 20
  # How long SQS reuses a data key before calling KMS again (AWS default; fewer KMS requests).
  kms_data_key_reuse_period_seconds = 300
}

resource "aws_sqs_queue" "dead_letter" {
  name                              = "${local.name}-work-dlq"
  message_retention_seconds         = local.dead_letter_retention_seconds
  visibility_timeout_seconds        = var.visibility_timeout_seconds
  receive_wait_time_seconds         = local.receive_wait_time_seconds
  kms_master_key_id                 = var.kms_master_key_id
  kms_data_key_reuse_period_seconds = local.kms_data_key_reuse_period_seconds

  tags = merge(local.tags, { Name = "${local.name}-work-dlq" })
}

resource "aws_sqs_queue" "this" {
  name                              = "${local.name}-work"
  message_retention_seconds         = var.message_retention_seconds
  visibility_timeout_seconds        = var.visibility_timeout_seconds
  receive_wait_time_seconds         = local.receive_wait_time_seconds
  kms_master_key_id                 = var.kms_master_key_id
  kms_data_key_reuse_period_seconds = local.kms_data_key_reuse_period_seconds

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter.arn
    maxReceiveCount     = var.max_receive_count
  })

  tags = merge(local.tags, { Name = "${local.name}-work" })
}
