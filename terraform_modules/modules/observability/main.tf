locals {
  name = "${var.name_prefix}-${var.environment}"
  tags = merge(var.tags, { Environment = var.environment, Component = "observability", ManagedBy = "terraform" })

  region = data.aws_region.current.name

  # Full ECS service names; the ecs module builds them the same way ("<name>-<service>").
  ecs_service_names = {
    for service in var.service_names : service => lookup(
      var.ecs_service_names == null ? {} : var.ecs_service_names, service, "${local.name}-${service}"
    )
  }

  # Every alarm, by a key that is also the end of its name. The keys only depend on inputs known
  # at plan time (service names, ids), so for_each can be planned before anything exists.
  # Resource-usage alarms treat missing data as not breaching (no traffic, no datapoint); the
  # running-task alarm treats it as breaching (Container Insights reports every minute while tasks run).
  ecs_alarms = merge([
    for service, service_name in local.ecs_service_names : {
      "${service}-cpu-high" = {
        description         = "CPU of ECS service ${service_name} above ${var.cpu_alarm_threshold}% for 10 minutes."
        namespace           = "AWS/ECS"
        metric_name         = "CPUUtilization"
        dimensions          = tomap({ ClusterName = var.ecs_cluster_name, ServiceName = service_name })
        statistic           = "Average"
        comparison_operator = "GreaterThanThreshold"
        threshold           = var.cpu_alarm_threshold
        period              = 300
        evaluation_periods  = 2
        treat_missing_data  = "notBreaching"
      }
      "${service}-memory-high" = {
        description         = "Memory of ECS service ${service_name} above ${var.memory_alarm_threshold}% for 10 minutes."
        namespace           = "AWS/ECS"
        metric_name         = "MemoryUtilization"
        dimensions          = tomap({ ClusterName = var.ecs_cluster_name, ServiceName = service_name })
        statistic           = "Average"
        comparison_operator = "GreaterThanThreshold"
        threshold           = var.memory_alarm_threshold
        period              = 300
        evaluation_periods  = 2
        treat_missing_data  = "notBreaching"
      }
      "${service}-no-running-tasks" = {
        description         = "ECS service ${service_name} has had no running task for 5 minutes."
        namespace           = "ECS/ContainerInsights"
        metric_name         = "RunningTaskCount"
        dimensions          = tomap({ ClusterName = var.ecs_cluster_name, ServiceName = service_name })
        statistic           = "Minimum"
        comparison_operator = "LessThanThreshold"
        threshold           = 1
        period              = 60
        evaluation_periods  = 5
        treat_missing_data  = "breaching"
      }
    }
  ]...)

  queue_alarms = {
    "queue-backlog-high" = {
      description         = "More than ${var.queue_depth_alarm_threshold} messages waiting in ${var.queue_name} for 10 minutes: the workers do not keep up."
      namespace           = "AWS/SQS"
      metric_name         = "ApproximateNumberOfMessagesVisible"
      dimensions          = tomap({ QueueName = var.queue_name })
      statistic           = "Maximum"
      comparison_operator = "GreaterThanThreshold"
      threshold           = var.queue_depth_alarm_threshold
      period              = 300
      evaluation_periods  = 2
      treat_missing_data  = "notBreaching"
    }
    "dead-letter-queue-not-empty" = {
      description         = "Messages in the dead-letter queue ${var.dead_letter_queue_name}: jobs failed every retry."
      namespace           = "AWS/SQS"
      metric_name         = "ApproximateNumberOfMessagesVisible"
      dimensions          = tomap({ QueueName = var.dead_letter_queue_name })
      statistic           = "Maximum"
      comparison_operator = "GreaterThanThreshold"
      threshold           = 0
      period              = 300
      evaluation_periods  = 1
      treat_missing_data  = "notBreaching"
    }
  }

  db_alarms = var.db_instance_id == "" ? {} : {
    "db-cpu-high" = {
      description         = "CPU of database ${var.db_instance_id} above ${var.cpu_alarm_threshold}% for 10 minutes."
      namespace           = "AWS/RDS"
      metric_name         = "CPUUtilization"
      dimensions          = tomap({ DBInstanceIdentifier = var.db_instance_id })
      statistic           = "Average"
      comparison_operator = "GreaterThanThreshold"
      threshold           = var.cpu_alarm_threshold
      period              = 300
      evaluation_periods  = 2
      treat_missing_data  = "notBreaching"
    }
    "db-free-storage-low" = {
      description         = "Free storage of database ${var.db_instance_id} below ${var.db_free_storage_alarm_threshold_bytes} bytes."
      namespace           = "AWS/RDS"
      metric_name         = "FreeStorageSpace"
      dimensions          = tomap({ DBInstanceIdentifier = var.db_instance_id })
      statistic           = "Minimum"
      comparison_operator = "LessThanThreshold"
      threshold           = var.db_free_storage_alarm_threshold_bytes
      period              = 300
      evaluation_periods  = 1
      treat_missing_data  = "notBreaching"
    }
    "db-connections-high" = {
      description         = "More than ${var.db_connections_alarm_threshold} connections to database ${var.db_instance_id} for 10 minutes."
      namespace           = "AWS/RDS"
      metric_name         = "DatabaseConnections"
      dimensions          = tomap({ DBInstanceIdentifier = var.db_instance_id })
      statistic           = "Average"
      comparison_operator = "GreaterThanThreshold"
      threshold           = var.db_connections_alarm_threshold
      period              = 300
      evaluation_periods  = 2
      treat_missing_data  = "notBreaching"
    }
  }

  cache_alarms = merge([
    for id in var.cache_cluster_ids : {
      "cache-${id}-cpu-high" = {
        description         = "CPU of cache ${id} above ${var.cpu_alarm_threshold}% for 10 minutes."
        namespace           = "AWS/ElastiCache"
        metric_name         = "CPUUtilization"
        dimensions          = tomap({ CacheClusterId = id })
        statistic           = "Average"
        comparison_operator = "GreaterThanThreshold"
        threshold           = var.cpu_alarm_threshold
        period              = 300
        evaluation_periods  = 2
        treat_missing_data  = "notBreaching"
      }
      "cache-${id}-evictions-high" = {
        description         = "Cache ${id} evicted more than ${var.cache_evictions_alarm_threshold} keys in 5 minutes: it is too small for its working set."
        namespace           = "AWS/ElastiCache"
        metric_name         = "Evictions"
        dimensions          = tomap({ CacheClusterId = id })
        statistic           = "Sum"
        comparison_operator = "GreaterThanThreshold"
        threshold           = var.cache_evictions_alarm_threshold
        period              = 300
        evaluation_periods  = 1
        treat_missing_data  = "notBreaching"
      }
      "cache-${id}-memory-high" = {
        description         = "Memory of cache ${id} above ${var.memory_alarm_threshold}% for 10 minutes."
        namespace           = "AWS/ElastiCache"
        metric_name         = "DatabaseMemoryUsagePercentage"
        dimensions          = tomap({ CacheClusterId = id })
        statistic           = "Average"
        comparison_operator = "GreaterThanThreshold"
        threshold           = var.memory_alarm_threshold
        period              = 300
        evaluation_periods  = 2
        treat_missing_data  = "notBreaching"
      }
    }
  ]...)

  alarms = merge(local.ecs_alarms, local.queue_alarms, local.db_alarms, local.cache_alarms)

  api_dimensions = var.api_stage_name == "" ? ["ApiName", var.api_name] : ["ApiName", var.api_name, "Stage", var.api_stage_name]

  # Dashboard: one metric widget per concern; CloudWatch places widgets without x/y itself.
  # Optional groups use "for ... if" rather than "cond ? [] : [...]": the widgets differ in shape,
  # and a conditional needs both results of one type.
  dashboard_widgets = flatten([
    {
      type   = "metric"
      width  = 12
      height = 6
      properties = {
        title   = "ECS CPU utilisation (%)"
        region  = local.region
        view    = "timeSeries"
        stat    = "Average"
        period  = 300
        metrics = [for service, service_name in local.ecs_service_names : ["AWS/ECS", "CPUUtilization", "ClusterName", var.ecs_cluster_name, "ServiceName", service_name, { label = service }]]
      }
    },
    {
      type   = "metric"
      width  = 12
      height = 6
      properties = {
        title   = "ECS memory utilisation (%)"
        region  = local.region
        view    = "timeSeries"
        stat    = "Average"
        period  = 300
        metrics = [for service, service_name in local.ecs_service_names : ["AWS/ECS", "MemoryUtilization", "ClusterName", var.ecs_cluster_name, "ServiceName", service_name, { label = service }]]
      }
    },
    {
      type   = "metric"
      width  = 12
      height = 6
      properties = {
        title   = "ECS running tasks"
        region  = local.region
        view    = "timeSeries"
        stat    = "Minimum"
        period  = 60
        metrics = [for service, service_name in local.ecs_service_names : ["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", var.ecs_cluster_name, "ServiceName", service_name, { label = service }]]
      }
    },
    {
      type   = "metric"
      width  = 12
      height = 6
      properties = {
        title  = "SQS messages visible"
        region = local.region
        view   = "timeSeries"
        stat   = "Maximum"
        period = 300
        metrics = [
          ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", var.queue_name, { label = "work queue" }],
          ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", var.dead_letter_queue_name, { label = "dead-letter queue" }],
        ]
      }
    },
    [for widget in [
      {
        type   = "metric"
        width  = 12
        height = 6
        properties = {
          title  = "RDS ${var.db_instance_id}: CPU (%) and connections"
          region = local.region
          view   = "timeSeries"
          stat   = "Average"
          period = 300
          metrics = [
            ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", var.db_instance_id, { label = "CPU %" }],
            ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", var.db_instance_id, { label = "connections", yAxis = "right" }],
          ]
        }
      },
      {
        type   = "metric"
        width  = 12
        height = 6
        properties = {
          title   = "RDS ${var.db_instance_id}: free storage (bytes)"
          region  = local.region
          view    = "timeSeries"
          stat    = "Minimum"
          period  = 300
          metrics = [["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", var.db_instance_id, { label = "free storage" }]]
        }
      },
    ] : widget if var.db_instance_id != ""],
    [for widget in [
      {
        type   = "metric"
        width  = 12
        height = 6
        properties = {
          title  = "Redis CPU and memory (%)"
          region = local.region
          view   = "timeSeries"
          stat   = "Average"
          period = 300
          metrics = concat(
            [for id in var.cache_cluster_ids : ["AWS/ElastiCache", "CPUUtilization", "CacheClusterId", id, { label = "${id} CPU" }]],
            [for id in var.cache_cluster_ids : ["AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "CacheClusterId", id, { label = "${id} memory" }]],
          )
        }
      },
      {
        type   = "metric"
        width  = 12
        height = 6
        properties = {
          title   = "Redis evictions"
          region  = local.region
          view    = "timeSeries"
          stat    = "Sum"
          period  = 300
          metrics = [for id in var.cache_cluster_ids : ["AWS/ElastiCache", "Evictions", "CacheClusterId", id, { label = id }]]
        }
      },
    ] : widget if length(var.cache_cluster_ids) > 0],
    [for widget in [
      {
        type   = "metric"
        width  = 12
        height = 6
        properties = {
          title  = "API Gateway ${var.api_name}: requests and errors"
          region = local.region
          view   = "timeSeries"
          stat   = "Sum"
          period = 300
          metrics = [
            concat(["AWS/ApiGateway", "Count"], local.api_dimensions, [{ label = "requests" }]),
            concat(["AWS/ApiGateway", "4XXError"], local.api_dimensions, [{ label = "4xx" }]),
            concat(["AWS/ApiGateway", "5XXError"], local.api_dimensions, [{ label = "5xx" }]),
          ]
        }
      },
      {
        type   = "metric"
        width  = 12
        height = 6
        properties = {
          title  = "API Gateway ${var.api_name}: latency (ms)"
          region = local.region
          view   = "timeSeries"
          period = 300
          metrics = [
            concat(["AWS/ApiGateway", "Latency"], local.api_dimensions, [{ label = "latency p50", stat = "p50" }]),
            concat(["AWS/ApiGateway", "Latency"], local.api_dimensions, [{ label = "latency p99", stat = "p99" }]),
            concat(["AWS/ApiGateway", "IntegrationLatency"], local.api_dimensions, [{ label = "integration p99", stat = "p99" }]),
          ]
        }
      },
    ] : widget if var.api_name != ""],
    [for widget in [
      {
        type   = "metric"
        width  = 12
        height = 6
        properties = {
          title  = "WAF ${var.web_acl_name}: requests"
          region = local.region
          view   = "timeSeries"
          stat   = "Sum"
          period = 300
          metrics = [
            ["AWS/WAFV2", "BlockedRequests", "WebACL", var.web_acl_name, "Region", local.region, "Rule", "ALL", { label = "blocked" }],
            ["AWS/WAFV2", "AllowedRequests", "WebACL", var.web_acl_name, "Region", local.region, "Rule", "ALL", { label = "allowed" }],
          ]
        }
      },
    ] : widget if var.web_acl_name != ""],
  ])
}

data "aws_region" "current" {}

resource "aws_cloudwatch_log_group" "this" {
  for_each = toset(var.service_names)

  name              = "/${var.name_prefix}/${var.environment}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_id

  tags = merge(local.tags, { Name = "/${var.name_prefix}/${var.environment}/${each.key}", Service = each.key })
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${local.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  comparison_operator = each.value.comparison_operator
  threshold           = each.value.threshold
  period              = each.value.period
  evaluation_periods  = each.value.evaluation_periods
  treat_missing_data  = each.value.treat_missing_data
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions

  tags = merge(local.tags, { Name = "${local.name}-${each.key}" })
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = local.name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
