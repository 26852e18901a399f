"""AWS resources of an environment, made in the emulator with boto3 as Terraform's modules name them.

Used by the dashboards' tests and by benchmarks/dashboards.py.
"""

from __future__ import annotations

import itertools
import uuid

from provisioning import aws

_numbers = itertools.count(1)


def unique_name(stem: str = "dash") -> str:
    """An environment name no other test of the session uses (the emulator lives for the whole session)."""
    return f"{stem}{next(_numbers)}-{uuid.uuid4().hex[:4]}"


def build_sandbox(environment: str, web_api_tasks: int = 2, workers_tasks: int = 1) -> dict:
    """The ECS cluster and services, queues and alarms of a sandbox environment; returns its Terraform outputs."""
    name = f"spotmusic-{environment}"
    ecs = aws.client("ecs")
    ecs.create_cluster(clusterName=name)
    services = {}
    for key, count in (("web-api", web_api_tasks), ("workers", workers_tasks)):
        services[key] = f"{name}-{key}"
        ecs.register_task_definition(
            family=services[key], containerDefinitions=[{"name": key, "image": f"{key}:1", "memory": 512}]
        )
        ecs.create_service(
            cluster=name,
            serviceName=services[key],
            taskDefinition=services[key],
            desiredCount=count,
            launchType="FARGATE",
        )
    sqs = aws.client("sqs")
    dead_letter_url = sqs.create_queue(QueueName=f"{name}-work-dlq")["QueueUrl"]
    work_url = sqs.create_queue(QueueName=f"{name}-work")["QueueUrl"]
    cloudwatch = aws.client("cloudwatch")
    alarms = [
        ("web-api-cpu-high", "AWS/ECS", "CPUUtilization", {"ClusterName": name, "ServiceName": services["web-api"]}),
        ("workers-cpu-high", "AWS/ECS", "CPUUtilization", {"ClusterName": name, "ServiceName": services["workers"]}),
        (
            "web-api-no-running-tasks",
            "ECS/ContainerInsights",
            "RunningTaskCount",
            {"ClusterName": name, "ServiceName": services["web-api"]},
        ),
        ("queue-backlog-high", "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": f"{name}-work"}),
        (
            "dead-letter-queue-not-empty",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": f"{name}-work-dlq"},
        ),
    ]
    for key, namespace, metric, dimensions in alarms:
        cloudwatch.put_metric_alarm(
            AlarmName=f"{name}-{key}",
            AlarmDescription=f"{key} of {environment}",
            Namespace=namespace,
            MetricName=metric,
            Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
            Statistic="Average",
            Period=300,
            EvaluationPeriods=1,
            Threshold=80,
            ComparisonOperator="GreaterThanThreshold",
        )
        cloudwatch.set_alarm_state(AlarmName=f"{name}-{key}", StateValue="OK", StateReason="Created by the test.")
    return {
        "ecs_cluster_name": name,
        "ecs_service_names": services,
        "dashboard_name": name,
        "work_queue_url": work_url,
        "dead_letter_queue_url": dead_letter_url,
        "vpc_id": "vpc-00000000",
    }


def build_full(environment: str) -> dict:
    """A sandbox plus the full blueprint's database, cache, API, WAF and CDN; returns its Terraform outputs."""
    outputs = build_sandbox(environment)
    name = outputs["dashboard_name"]
    rds = aws.client("rds")
    instance = rds.create_db_instance(
        DBInstanceIdentifier=f"{name}-mysql",
        DBInstanceClass="db.t3.micro",
        Engine="mysql",
        AllocatedStorage=20,
        MasterUsername="spotmusic",
        MasterUserPassword="not-a-secret-123",
    )["DBInstance"]
    elasticache = aws.client("elasticache")
    group = elasticache.create_replication_group(
        ReplicationGroupId=name,
        ReplicationGroupDescription=f"Redis cache of {name}",
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        NumCacheClusters=2,
    )["ReplicationGroup"]
    apigateway = aws.client("apigateway")
    api = apigateway.create_rest_api(name=f"{name}-api")
    root = apigateway.get_resources(restApiId=api["id"])["items"][0]["id"]
    apigateway.put_method(restApiId=api["id"], resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(restApiId=api["id"], resourceId=root, httpMethod="GET", type="MOCK")
    apigateway.create_deployment(restApiId=api["id"], stageName="live")
    wafv2 = aws.client("wafv2")
    acl = wafv2.create_web_acl(
        Name=f"{name}-web-acl",
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        VisibilityConfig={
            "SampledRequestsEnabled": True,
            "CloudWatchMetricsEnabled": True,
            "MetricName": f"{name}-web-acl",
        },
    )["Summary"]
    cloudfront = aws.client("cloudfront")
    distribution = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": name,
            "Comment": f"{name} audio",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "audio",
                        "DomainName": f"{name}-audio.s3.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "audio",
                "ViewerProtocolPolicy": "redirect-to-https",
                "MinTTL": 0,
                "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                "TrustedSigners": {"Enabled": False, "Quantity": 0},
            },
        }
    )["Distribution"]
    region = aws.default_region()
    outputs.update(
        database_endpoint=f"{instance['Endpoint']['Address']}:{instance['Endpoint']['Port']}",
        redis_endpoint=group["NodeGroups"][0]["PrimaryEndpoint"]["Address"],
        api_invoke_url=f"https://{api['id']}.execute-api.{region}.amazonaws.com/live",
        waf_web_acl_arn=acl["ARN"],
        cdn_domain_name=distribution["DomainName"],
    )
    return outputs
