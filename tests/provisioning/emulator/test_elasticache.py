"""The emulator's ElastiCache behaves as AWS documents where the cache module relies on it (one test per patch)."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

from provisioning.aws import client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def elasticache(emulator):
    return client("elasticache")


@pytest.fixture
def subnet_group(emulator, elasticache):
    """A cache subnet group over two subnets in two availability zones of a fresh VPC."""
    ec2 = client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    subnet_ids = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for cidr, zone in (("10.60.1.0/24", "eu-west-1a"), ("10.60.2.0/24", "eu-west-1b"))
    ]
    name = unique("test-subnets")
    elasticache.create_cache_subnet_group(
        CacheSubnetGroupName=name, CacheSubnetGroupDescription="test", SubnetIds=subnet_ids
    )
    return name


def create_replication_group(elasticache, subnet_group: str, **overrides) -> str:
    group_id = unique("test-rg")
    settings = {
        "ReplicationGroupId": group_id,
        "ReplicationGroupDescription": "test",
        "Engine": "redis",
        "EngineVersion": "6.x",
        "CacheNodeType": "cache.t3.micro",
        "NumCacheClusters": 2,
        "AutomaticFailoverEnabled": True,
        "MultiAZEnabled": True,
        "CacheSubnetGroupName": subnet_group,
        "SecurityGroupIds": ["sg-0123456789abcdef0"],
        "AtRestEncryptionEnabled": True,
        "TransitEncryptionEnabled": True,
    }
    elasticache.create_replication_group(**{**settings, **overrides})
    return group_id


def test_cache_parameter_group_keeps_user_parameters_and_can_be_deleted(elasticache):
    name = unique("test-redis6")
    created = elasticache.create_cache_parameter_group(
        CacheParameterGroupName=name, CacheParameterGroupFamily="redis6.x", Description="test"
    )["CacheParameterGroup"]
    elasticache.modify_cache_parameter_group(
        CacheParameterGroupName=name,
        ParameterNameValues=[{"ParameterName": "maxmemory-policy", "ParameterValue": "allkeys-lru"}],
    )

    described = elasticache.describe_cache_parameter_groups(CacheParameterGroupName=name)["CacheParameterGroups"]
    user_parameters = elasticache.describe_cache_parameters(CacheParameterGroupName=name, Source="user")
    assert created["CacheParameterGroupFamily"] == "redis6.x"
    assert [group["CacheParameterGroupName"] for group in described] == [name]
    assert [(p["ParameterName"], p["ParameterValue"], p["Source"]) for p in user_parameters["Parameters"]] == [
        ("maxmemory-policy", "allkeys-lru", "user")
    ]

    elasticache.delete_cache_parameter_group(CacheParameterGroupName=name)
    with pytest.raises(ClientError) as error:
        elasticache.describe_cache_parameter_groups(CacheParameterGroupName=name)
    assert error.value.response["Error"]["Code"] == "CacheParameterGroupNotFound"


def test_cache_cluster_reports_its_security_groups_and_parameter_group(elasticache, subnet_group):
    cluster_id = unique("test-cc")
    elasticache.create_cache_cluster(
        CacheClusterId=cluster_id,
        Engine="redis",
        EngineVersion="5.0.6",
        CacheNodeType="cache.t3.micro",
        NumCacheNodes=1,
        CacheSubnetGroupName=subnet_group,
        SecurityGroupIds=["sg-0123456789abcdef0"],
    )

    cluster = elasticache.describe_cache_clusters(CacheClusterId=cluster_id)["CacheClusters"][0]

    assert cluster["SecurityGroups"] == [{"SecurityGroupId": "sg-0123456789abcdef0", "Status": "active"}]
    assert cluster["CacheParameterGroup"]["CacheParameterGroupName"] == "default.redis5.0"


def test_unused_cache_subnet_group_can_be_modified_and_deleted(elasticache, subnet_group):
    elasticache.modify_cache_subnet_group(CacheSubnetGroupName=subnet_group, CacheSubnetGroupDescription="changed")
    described = elasticache.describe_cache_subnet_groups(CacheSubnetGroupName=subnet_group)["CacheSubnetGroups"]
    assert described[0]["CacheSubnetGroupDescription"] == "changed"

    elasticache.delete_cache_subnet_group(CacheSubnetGroupName=subnet_group)

    with pytest.raises(ClientError) as error:
        elasticache.describe_cache_subnet_groups(CacheSubnetGroupName=subnet_group)
    assert error.value.response["Error"]["Code"] == "CacheSubnetGroupNotFoundFault"


def test_deleted_replication_group_and_its_member_clusters_disappear(elasticache, subnet_group):
    group_id = create_replication_group(elasticache, subnet_group)
    members = elasticache.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"][0][
        "MemberClusters"
    ]

    deleting = elasticache.delete_replication_group(ReplicationGroupId=group_id)["ReplicationGroup"]

    assert deleting["Status"] == "deleting"
    with pytest.raises(ClientError) as error:
        elasticache.describe_replication_groups(ReplicationGroupId=group_id)
    assert error.value.response["Error"]["Code"] == "ReplicationGroupNotFoundFault"
    remaining = {cluster["CacheClusterId"] for cluster in elasticache.describe_cache_clusters()["CacheClusters"]}
    assert not remaining & set(members)


def test_redis_6x_cluster_reports_the_release_it_runs(elasticache, subnet_group):
    cluster_id = unique("test-cc")
    elasticache.create_cache_cluster(
        CacheClusterId=cluster_id,
        Engine="redis",
        EngineVersion="6.x",
        CacheNodeType="cache.t3.micro",
        NumCacheNodes=1,
        CacheSubnetGroupName=subnet_group,
    )

    cluster = elasticache.describe_cache_clusters(CacheClusterId=cluster_id)["CacheClusters"][0]

    assert cluster["EngineVersion"] == "6.2.6"


def test_replication_group_members_are_cache_clusters(elasticache, subnet_group):
    group_id = create_replication_group(elasticache, subnet_group, Tags=[{"Key": "Component", "Value": "cache"}])

    group = elasticache.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"][0]
    clusters = [
        elasticache.describe_cache_clusters(CacheClusterId=member)["CacheClusters"][0]
        for member in group["MemberClusters"]
    ]

    assert sorted(group["MemberClusters"]) == [f"{group_id}-001", f"{group_id}-002"]
    assert {cluster["ReplicationGroupId"] for cluster in clusters} == {group_id}
    assert {cluster["PreferredAvailabilityZone"] for cluster in clusters} == {"eu-west-1a", "eu-west-1b"}
    assert all(cluster["AtRestEncryptionEnabled"] and cluster["TransitEncryptionEnabled"] for cluster in clusters)
    tags = elasticache.list_tags_for_resource(ResourceName=clusters[0]["ARN"])["TagList"]
    assert tags == [{"Key": "Component", "Value": "cache"}]


def test_replication_group_reports_reader_endpoint(elasticache, subnet_group):
    group_id = create_replication_group(elasticache, subnet_group)

    node_group = elasticache.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"][0][
        "NodeGroups"
    ][0]

    assert node_group["ReaderEndpoint"]["Port"] == 6379
    assert node_group["ReaderEndpoint"]["Address"] != node_group["PrimaryEndpoint"]["Address"]
