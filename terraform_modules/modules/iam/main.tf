# Least-privilege IAM roles for ECS: the task execution role (pull images, write logs, read secrets at
# start-up) and the task roles of the web API and the workers.
#
# Every statement naming resources from a list is a dynamic block that disappears when the list is
# empty, so a policy never holds a statement without resources. The lists only feed policy
# documents (no count or for_each on resources), so they may hold ARNs created in the same apply;
# when even a list's length is unknown at plan time, its policy document is rendered during the apply.

locals {
  name = "${var.name_prefix}-${var.environment}"
  tags = merge(var.tags, { Environment = var.environment, Component = "iam", ManagedBy = "terraform" })

  # awslogs creates streams in the group and writes events to them: both live under "<group ARN>:*".
  log_stream_arns = [for arn in var.log_group_arns : "${trimsuffix(arn, ":*")}:*"]
}

data "aws_caller_identity" "current" {}

# Only ECS tasks of this account may assume the roles (confused-deputy protection).
data "aws_iam_policy_document" "ecs_tasks_assume_role" {
  statement {
    sid     = "EcsTasksOfThisAccount"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

# Task execution role

# An inline policy instead of the AWS managed AmazonECSTaskExecutionRolePolicy, which grants
# ECR pulls and log writes on every resource.
data "aws_iam_policy_document" "task_execution" {
  # GetAuthorizationToken supports no resource-level permission: "*" is the only valid resource.
  statement {
    sid       = "EcrAuthorizationToken"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = length(var.ecr_repository_arns) > 0 ? [var.ecr_repository_arns] : []
    content {
      sid    = "EcrPullImages"
      effect = "Allow"
      actions = [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
      ]
      resources = statement.value
    }
  }

  dynamic "statement" {
    for_each = length(local.log_stream_arns) > 0 ? [local.log_stream_arns] : []
    content {
      sid    = "WriteTaskLogs"
      effect = "Allow"
      actions = [
        "logs:CreateLogStream",
        "logs:PutLogEvents",
      ]
      resources = statement.value
    }
  }

  dynamic "statement" {
    for_each = length(var.secret_arns) > 0 ? [var.secret_arns] : []
    content {
      sid       = "ReadSecretsForTaskDefinitions"
      effect    = "Allow"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = statement.value
    }
  }

  dynamic "statement" {
    for_each = length(var.ssm_parameter_arns) > 0 ? [var.ssm_parameter_arns] : []
    content {
      sid       = "ReadParametersForTaskDefinitions"
      effect    = "Allow"
      actions   = ["ssm:GetParameters"]
      resources = statement.value
    }
  }

  dynamic "statement" {
    for_each = length(var.kms_key_arns) > 0 ? [var.kms_key_arns] : []
    content {
      sid       = "DecryptSecretsAndParameters"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = statement.value
    }
  }
}

resource "aws_iam_role" "task_execution" {
  name               = "${local.name}-ecs-task-execution"
  description        = "ECS task execution: pull images, write logs, read secrets at task start"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume_role.json

  tags = local.tags
}

resource "aws_iam_role_policy" "task_execution" {
  name   = "task-execution"
  role   = aws_iam_role.task_execution.id
  policy = data.aws_iam_policy_document.task_execution.json
}

# Web API task role

data "aws_iam_policy_document" "web_api" {
  statement {
    sid    = "ReadWriteAudioObjects"
    effect = "Allow"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
    ]
    resources = ["${var.audio_bucket_arn}/*"]
  }

  statement {
    sid       = "ListAudioBucket"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [var.audio_bucket_arn]
  }

  dynamic "statement" {
    for_each = length(var.queue_arns) > 0 ? [var.queue_arns] : []
    content {
      sid    = "SendJobs"
      effect = "Allow"
      actions = [
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:SendMessage",
      ]
      resources = statement.value
    }
  }

  dynamic "statement" {
    for_each = length(var.secret_arns) > 0 ? [var.secret_arns] : []
    content {
      sid       = "ReadSecrets"
      effect    = "Allow"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = statement.value
    }
  }
}

resource "aws_iam_role" "web_api" {
  name               = "${local.name}-web-api-task"
  description        = "Web API ECS tasks: audio objects, job queues, secrets"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume_role.json

  tags = local.tags
}

resource "aws_iam_role_policy" "web_api" {
  name   = "web-api"
  role   = aws_iam_role.web_api.id
  policy = data.aws_iam_policy_document.web_api.json
}

# Workers task role

data "aws_iam_policy_document" "workers" {
  statement {
    sid    = "ReadWriteDeleteAudioObjects"
    effect = "Allow"
    actions = [
      "s3:DeleteObject",
      "s3:GetObject",
      "s3:PutObject",
    ]
    resources = ["${var.audio_bucket_arn}/*"]
  }

  statement {
    sid       = "ListAudioBucket"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [var.audio_bucket_arn]
  }

  dynamic "statement" {
    for_each = length(var.queue_arns) > 0 ? [var.queue_arns] : []
    content {
      sid    = "ConsumeAndSendJobs"
      effect = "Allow"
      actions = [
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:ReceiveMessage",
        "sqs:SendMessage",
      ]
      resources = statement.value
    }
  }

  dynamic "statement" {
    for_each = length(var.secret_arns) > 0 ? [var.secret_arns] : []
    content {
      sid       = "ReadSecrets"
      effect    = "Allow"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = statement.value
    }
  }
}

resource "aws_iam_role" "workers" {
  name               = "${local.name}-workers-task"
  description        = "Worker ECS tasks: audio objects, job queues, secrets"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume_role.json

  tags = local.tags
}

resource "aws_iam_role_policy" "workers" {
  name   = "workers"
  role   = aws_iam_role.workers.id
  policy = data.aws_iam_policy_document.workers.json
}
