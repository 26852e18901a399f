locals {
  name = "${var.name_prefix}-${var.environment}"
  tags = merge(var.tags, { Environment = var.environment, Component = "waf", ManagedBy = "terraform" })

  web_acl_name = "${local.name}-web-acl"
  # WAF's log destinations must be named "aws-waf-logs-...".
  log_group_name = "aws-waf-logs-${local.name}"

  # AWS managed rule groups, in evaluation order after the rate rule. All block: override "none"
  # keeps each group's own (block) actions.
  managed_rule_groups = [
    { name = "AWSManagedRulesKnownBadInputsRuleSet", priority = 10, excluded_rules = [] },
    { name = "AWSManagedRulesSQLiRuleSet", priority = 20, excluded_rules = [] },
    # Common (OWASP) rules, cross-site scripting included.
    { name = "AWSManagedRulesCommonRuleSet", priority = 30, excluded_rules = var.common_rule_set_excluded_rules },
  ]
}

resource "aws_wafv2_web_acl" "this" {
  name        = local.web_acl_name
  description = "Protects the Spotmusic web API (${var.environment})."
  scope       = var.scope

  default_action {
    allow {}
  }

  # Cheapest rule first: a client over the rate limit is blocked before the managed groups run.
  rule {
    name     = "rate-limit-per-ip"
    priority = 0

    action {
      block {}
    }

    statement {
      rate_based_statement {
        limit              = var.rate_limit
        aggregate_key_type = "IP"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.web_acl_name}-rate-limit-per-ip"
      sampled_requests_enabled   = true
    }
  }

  dynamic "rule" {
    for_each = local.managed_rule_groups

    content {
      name     = rule.value.name
      priority = rule.value.priority

      override_action {
        none {}
      }

      statement {
        managed_rule_group_statement {
          name        = rule.value.name
          vendor_name = "AWS"

          dynamic "excluded_rule" {
            for_each = rule.value.excluded_rules

            content {
              name = excluded_rule.value
            }
          }
        }
      }

      visibility_config {
        cloudwatch_metrics_enabled = true
        metric_name                = "${local.web_acl_name}-${rule.value.name}"
        sampled_requests_enabled   = true
      }
    }
  }

  # The metric name is the web ACL's name, so the WebACL dimension of its CloudWatch metrics is too.
  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = local.web_acl_name
    sampled_requests_enabled   = true
  }

  tags = merge(local.tags, { Name = local.web_acl_name })
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_id

  tags = merge(local.tags, { Name = local.log_group_name })
}

resource "aws_wafv2_web_acl_logging_configuration" "this" {
  resource_arn            = aws_wafv2_web_acl.this.arn
  log_destination_configs = [aws_cloudwatch_log_group.this.arn]

  # Credentials never reach the log.
  redacted_fields {
    single_header {
      name = "authorization"
    }
  }

  redacted_fields {
    single_header {
      name = "cookie"
    }
  }
}

resource "aws_wafv2_web_acl_association" "this" {
  count = var.associate ? 1 : 0

  resource_arn = var.resource_arn
  web_acl_arn  = aws_wafv2_web_acl.this.arn
}
