locals {
  name = "${var.name_prefix}-${var.environment}"
  tags = merge(var.tags, { Environment = var.environment, Component = "cdn", ManagedBy = "terraform" })

  origin_id = "s3-${var.bucket_id}"
}

resource "aws_cloudfront_origin_access_identity" "this" {
  comment = "${local.name}: CloudFront access to ${var.bucket_id}"
}

resource "aws_cloudfront_distribution" "this" {
  enabled             = true
  is_ipv6_enabled     = true
  http_version        = "http2"
  comment             = "${local.name} audio"
  price_class         = var.price_class
  web_acl_id          = var.web_acl_id
  wait_for_deployment = var.wait_for_deployment

  origin {
    origin_id   = local.origin_id
    domain_name = var.bucket_regional_domain_name

    s3_origin_config {
      origin_access_identity = aws_cloudfront_origin_access_identity.this.cloudfront_access_identity_path
    }
  }

  default_cache_behavior {
    target_origin_id       = local.origin_id
    viewer_protocol_policy = "redirect-to-https"
    allowed_methods        = ["GET", "HEAD", "OPTIONS"]
    cached_methods         = ["GET", "HEAD"]
    compress               = true
    min_ttl                = 0
    default_ttl            = var.default_ttl
    max_ttl                = var.max_ttl

    forwarded_values {
      query_string = false

      cookies {
        forward = "none"
      }
    }
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  # With the *.cloudfront.net certificate CloudFront fixes the viewer security policy at TLSv1 and
  # ignores any other value; a stricter minimum needs a custom domain and an ACM certificate.
  viewer_certificate {
    cloudfront_default_certificate = true
    minimum_protocol_version       = "TLSv1"
  }

  tags = merge(local.tags, { Name = "${local.name}-audio" })
}
