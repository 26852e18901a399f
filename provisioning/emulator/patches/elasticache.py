"""ElastiCache fidelity patches: parameter groups, Redis versions, replication-group members, deletion.

hashicorp/aws reads a replication group partly through its first member cache cluster (engine version,
security groups, parameter group, encryption, tags) and waits for deleted resources to be gone. moto 5.2.5
has no cache parameter group API and cannot delete or modify a cache subnet group, echoes "6.x" as the
engine version, never creates the member clusters it lists, ignores NumCacheClusters, omits a node
group's ReaderEndpoint and a cluster's SecurityGroups, and never finishes a deletion. Each patch below
restores one documented AWS behaviour.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from moto.core.responses import ActionResult, EmptyResult, PaginatedResult
from moto.elasticache import models
from moto.elasticache.exceptions import ElastiCacheException, InvalidParameterValueException
from moto.elasticache.responses import ElastiCacheResponse

from provisioning.emulator.patches import fidelity_patch

# ElastiCache answers a "<major>.x" EngineVersion with the newest release of that major version.
NEWEST_REDIS_RELEASE = {"6.x": "6.2.6"}

# The parameter group families ElastiCache offers (DescribeCacheEngineVersions).
CACHE_PARAMETER_GROUP_FAMILIES = frozenset(
    [
        "memcached1.4",
        "memcached1.5",
        "memcached1.6",
        "redis2.6",
        "redis2.8",
        "redis3.2",
        "redis4.0",
        "redis5.0",
        "redis6.x",
        "redis7",
        "valkey7",
        "valkey8",
    ]
)
_PARAMETER_GROUP_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,254}$")


class CacheParameterGroupNotFound(ElastiCacheException):
    code = "CacheParameterGroupNotFound"

    def __init__(self, name: str) -> None:
        super().__init__(f"CacheParameterGroup {name} not found.")


class CacheParameterGroupAlreadyExists(ElastiCacheException):
    code = "CacheParameterGroupAlreadyExists"

    def __init__(self, name: str) -> None:
        super().__init__(f"Parameter group {name} already exists.")


class InvalidCacheParameterGroupState(ElastiCacheException):
    code = "InvalidCacheParameterGroupState"


class CacheSubnetGroupInUse(ElastiCacheException):
    code = "CacheSubnetGroupInUse"

    def __init__(self, name: str) -> None:
        super().__init__(f"Cache subnet group {name} is currently in use by a cache cluster.")


def default_parameter_group_family(engine: str, engine_version: str | None) -> str:
    """The parameter group family of an engine version, as ElastiCache names it (redis6.x, redis5.0, redis7)."""
    if not engine_version:
        # ElastiCache creates the newest engine version when none is given.
        return "memcached1.6" if engine == "memcached" else f"{engine}7"
    parts = engine_version.split(".")
    if engine == "memcached":
        return f"memcached{parts[0]}.{parts[1]}"
    major = int(parts[0])
    if major >= 7:
        return f"{engine}{major}"
    if major == 6:
        return "redis6.x"
    return f"redis{major}.{parts[1]}"


class CacheParameterGroup:
    """A user-created cache parameter group; only the parameters the user set are kept."""

    def __init__(self, account_id: str, region_name: str, name: str, family: str, description: str) -> None:
        self.cache_parameter_group_name = name
        self.cache_parameter_group_family = family
        self.description = description
        self.is_global = False
        self.arn = f"arn:aws:elasticache:{region_name}:{account_id}:parametergroup:{name}"
        self.parameters: dict[str, str] = {}


def _parameter_groups(backend: models.ElastiCacheBackend) -> dict[str, CacheParameterGroup]:
    # Kept on the backend instance, so moto's reset (which re-initialises backends) forgets them too.
    return backend.__dict__.setdefault("cache_parameter_groups", {})


def _parameter_group(backend: models.ElastiCacheBackend, name: str | None) -> CacheParameterGroup:
    # ElastiCache keeps parameter group names in lowercase and matches them regardless of case.
    group = _parameter_groups(backend).get((name or "").lower())
    if group is None:
        raise CacheParameterGroupNotFound(name or "")
    return group


@fidelity_patch
def cache_parameter_groups() -> None:
    """Cache parameter groups can be created, described, modified, reset and deleted (user-set parameters have Source "user"), as on AWS."""

    def create_cache_parameter_group(self: ElastiCacheResponse) -> ActionResult:
        name = self._get_param("CacheParameterGroupName") or ""
        family = self._get_param("CacheParameterGroupFamily") or ""
        description = self._get_param("Description") or ""
        if not _PARAMETER_GROUP_NAME.match(name) or "--" in name or name.endswith("-"):
            raise InvalidParameterValueException(
                "Parameter group name must begin with a letter, contain only ASCII letters, digits and hyphens, "
                "and not end with a hyphen or contain two consecutive hyphens."
            )
        if family not in CACHE_PARAMETER_GROUP_FAMILIES:
            raise InvalidParameterValueException(f"The parameter CacheParameterGroupFamily {family} is not valid.")
        if not description:
            raise InvalidParameterValueException("The parameter Description must be provided and must not be blank.")
        backend = self.elasticache_backend
        groups = _parameter_groups(backend)
        if name.lower() in groups:
            raise CacheParameterGroupAlreadyExists(name)
        # ElastiCache stores parameter group names in lowercase.
        group = CacheParameterGroup(backend.account_id, backend.region_name, name.lower(), family, description)
        groups[group.cache_parameter_group_name] = group
        tags = self._get_param("Tags", [])
        if tags:
            backend.tagging_service.tag_resource(group.arn, tags)
        return ActionResult({"CacheParameterGroup": group})

    def describe_cache_parameter_groups(self: ElastiCacheResponse) -> ActionResult:
        name = self._get_param("CacheParameterGroupName")
        backend = self.elasticache_backend
        groups = [_parameter_group(backend, name)] if name else list(_parameter_groups(backend).values())
        return PaginatedResult({"CacheParameterGroups": groups})

    def modify_cache_parameter_group(self: ElastiCacheResponse) -> ActionResult:
        group = _parameter_group(self.elasticache_backend, self._get_param("CacheParameterGroupName"))
        for parameter in self._get_param("ParameterNameValues", []):
            group.parameters[parameter["ParameterName"]] = parameter["ParameterValue"]
        return ActionResult({"CacheParameterGroupName": group.cache_parameter_group_name})

    def reset_cache_parameter_group(self: ElastiCacheResponse) -> ActionResult:
        group = _parameter_group(self.elasticache_backend, self._get_param("CacheParameterGroupName"))
        if self._get_bool_param("ResetAllParameters"):
            group.parameters.clear()
        for parameter in self._get_param("ParameterNameValues", []):
            group.parameters.pop(parameter["ParameterName"], None)
        return ActionResult({"CacheParameterGroupName": group.cache_parameter_group_name})

    def describe_cache_parameters(self: ElastiCacheResponse) -> ActionResult:
        group = _parameter_group(self.elasticache_backend, self._get_param("CacheParameterGroupName"))
        source = self._get_param("Source")
        # Only user-set parameters are modelled; the engine defaults (Source "system"/"engine-default") are not.
        parameters = [
            {
                "ParameterName": name,
                "ParameterValue": value,
                "Source": "user",
                "DataType": "string",
                "IsModifiable": True,
                "ChangeType": "immediate",
            }
            for name, value in sorted(group.parameters.items())
            if source in (None, "user")
        ]
        return PaginatedResult({"Parameters": parameters})

    def delete_cache_parameter_group(self: ElastiCacheResponse) -> EmptyResult:
        backend = self.elasticache_backend
        group = _parameter_group(backend, self._get_param("CacheParameterGroupName"))
        in_use = [
            cluster.cache_cluster_id
            for cluster in backend.cache_clusters.values()
            if (cluster.cache_parameter_group_name or "").lower() == group.cache_parameter_group_name
        ]
        if in_use:
            raise InvalidCacheParameterGroupState(
                f"One or more cache clusters are still members of this parameter group "
                f"{group.cache_parameter_group_name}, so the group cannot be deleted."
            )
        del _parameter_groups(backend)[group.cache_parameter_group_name]
        backend.tagging_service.delete_all_tags_for_resource(group.arn)
        return EmptyResult()

    for action in (
        create_cache_parameter_group,
        describe_cache_parameter_groups,
        modify_cache_parameter_group,
        reset_cache_parameter_group,
        describe_cache_parameters,
        delete_cache_parameter_group,
    ):
        setattr(ElastiCacheResponse, action.__name__, action)


@fidelity_patch
def redis_major_version_resolves_to_release() -> None:
    """EngineVersion "6.x" selects the newest Redis 6 release: the cluster reports EngineVersion "6.2.6", as on AWS."""
    original_init = models.CacheCluster.__init__

    @functools.wraps(original_init)
    def __init__(self: models.CacheCluster, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.engine_version = NEWEST_REDIS_RELEASE.get(self.engine_version, self.engine_version)

    models.CacheCluster.__init__ = __init__


@fidelity_patch
def cache_cluster_reports_security_and_parameter_groups() -> None:
    """DescribeCacheClusters reports a cluster's SecurityGroups and CacheParameterGroup, as on AWS."""

    def security_groups(self: models.CacheCluster) -> list[dict[str, str]]:
        return [{"SecurityGroupId": group_id, "Status": "active"} for group_id in self.security_group_ids]

    def cache_parameter_group(self: models.CacheCluster) -> dict[str, Any]:
        # Without a group of its own a cluster uses its family's default group.
        name = (
            self.cache_parameter_group_name
            or f"default.{default_parameter_group_family(self.engine, self.engine_version)}"
        )
        return {"CacheParameterGroupName": name, "ParameterApplyStatus": "in-sync", "CacheNodeIdsToReboot": []}

    models.CacheCluster.security_groups = property(security_groups)
    models.CacheCluster.cache_parameter_group = property(cache_parameter_group)


@fidelity_patch
def replication_group_reports_reader_endpoint() -> None:
    """A cluster-mode-disabled replication group's node group reports its ReaderEndpoint, as on AWS."""
    original_init = models.ReplicationGroup.__init__

    @functools.wraps(original_init)
    def __init__(self: models.ReplicationGroup, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        for node_group in self.node_groups:
            if "reader_endpoint_address" in node_group:
                node_group["reader_endpoint"] = {"address": node_group["reader_endpoint_address"], "port": self.port}

    models.ReplicationGroup.__init__ = __init__


@fidelity_patch
def replication_group_creates_member_clusters() -> None:
    """A cluster-mode-disabled replication group has NumCacheClusters members, each a cache cluster DescribeCacheClusters finds, as on AWS."""
    original_set_members = models.ReplicationGroup._set_node_members_clusters_disabled

    @functools.wraps(original_set_members)
    def set_members(self: models.ReplicationGroup, **kwargs: Any) -> None:
        # moto sizes the group from ReplicasPerNodeGroup only; NumCacheClusters is primary + replicas.
        if not kwargs.get("replicas_per_node_group") and (kwargs.get("num_cache_clusters") or 1) > 1:
            kwargs["replicas_per_node_group"] = kwargs["num_cache_clusters"] - 1
        original_set_members(self, **kwargs)

    models.ReplicationGroup._set_node_members_clusters_disabled = set_members

    original_create = models.ElastiCacheBackend.create_replication_group

    @functools.wraps(original_create)
    def create_replication_group(self: models.ElastiCacheBackend, **kwargs: Any) -> models.ReplicationGroup:
        group = original_create(self, **kwargs)
        zones = _subnet_group_zones(self, group.cache_subnet_group_name)
        members = [member for node_group in group.node_groups for member in node_group["node_group_members"]]
        for index, member in enumerate(members):
            if zones and not kwargs.get("preferred_cache_cluster_azs") and not kwargs.get("node_group_configuration"):
                # Without preferences ElastiCache spreads the nodes over the subnet group's zones.
                member["preferred_availability_zone"] = zones[index % len(zones)]
            cluster = models.CacheCluster(
                account_id=self.account_id,
                region_name=self.region_name,
                cache_cluster_id=member["cache_cluster_id"],
                cache_node_type=group.cache_node_type,
                replication_group_id=group.replication_group_id,
                az_mode="single-az",
                preferred_availability_zone=member.get("preferred_availability_zone"),
                num_cache_nodes=1,
                engine=group.engine,
                engine_version=group.engine_version,
                cache_parameter_group_name=group.cache_parameter_group_name,
                cache_subnet_group_name=group.cache_subnet_group_name,
                transit_encryption_enabled=group.transit_encryption_enabled,
                network_type=group.network_type,
                ip_discovery=group.ip_discovery,
                snapshot_name=group.snapshot_name,
                preferred_maintenance_window=group.preferred_maintenance_window,
                port=group.port,
                notification_topic_arn=group.notification_topic_arn,
                auto_minor_version_upgrade=True
                if group.auto_minor_version_upgrade is None
                else group.auto_minor_version_upgrade,
                snapshot_retention_limit=group.snapshot_retention_limit,
                snapshot_window=group.snapshot_window,
                auth_token=kwargs.get("auth_token"),
                outpost_mode=None,
                preferred_outpost_arn=member.get("preferred_outpost_arn"),
                preferred_availability_zones=None,
                cache_security_group_names=group.cache_security_group_names,
                security_group_ids=group.security_group_ids,
                tags=group.tags,
                snapshot_arns=group.snapshot_arns,
                preferred_outpost_arns=None,
                log_delivery_configurations=[],
                cache_node_ids_to_remove=[],
                cache_node_ids_to_reboot=[],
            )
            cluster.at_rest_encryption_enabled = group.at_rest_encryption_enabled
            self.cache_clusters[cluster.cache_cluster_id] = cluster
            # The group's tags are the members' tags: ElastiCache tags every member cluster with them.
            if group.tags:
                self.tagging_service.tag_resource(cluster.arn, group.tags)
        return group

    models.ElastiCacheBackend.create_replication_group = create_replication_group


def _subnet_group_zones(backend: models.ElastiCacheBackend, name: str | None) -> list[str]:
    group = backend.cache_subnet_groups.get(name or "")
    if group is None:
        return []
    zones = [subnet.get("subnet_availability_zone") for subnet in group.subnets]
    return sorted({zone for zone in zones if isinstance(zone, str)})


@fidelity_patch
def deleted_clusters_and_replication_groups_disappear() -> None:
    """A deleted cache cluster or replication group (with its member clusters) disappears once deleted, as on AWS."""
    original_delete_group = models.ElastiCacheBackend.delete_replication_group
    original_delete_cluster = models.ElastiCacheBackend.delete_cache_cluster

    @functools.wraps(original_delete_group)
    def delete_replication_group(
        self: models.ElastiCacheBackend, replication_group_id: str, retain_primary_cluster: bool | None
    ) -> models.ReplicationGroup:
        existing = self.replication_groups.get(replication_group_id)
        members = list(existing.member_clusters) if existing else []
        primary = _primary_member(existing) if existing else None
        # The response still shows the group as "deleting"; the deletion itself is finished at once.
        group = original_delete_group(self, replication_group_id, retain_primary_cluster)
        del self.replication_groups[replication_group_id]
        self.tagging_service.delete_all_tags_for_resource(group.arn)
        for cluster_id in members:
            if retain_primary_cluster and cluster_id == primary and cluster_id in self.cache_clusters:
                # RetainPrimaryCluster keeps the primary as a stand-alone cluster.
                self.cache_clusters[cluster_id].replication_group_id = None
                continue
            cluster = self.cache_clusters.pop(cluster_id, None)
            if cluster is not None:
                self.tagging_service.delete_all_tags_for_resource(cluster.arn)
        return group

    @functools.wraps(original_delete_cluster)
    def delete_cache_cluster(self: models.ElastiCacheBackend, cache_cluster_id: str) -> models.CacheCluster:
        cluster = original_delete_cluster(self, cache_cluster_id)
        del self.cache_clusters[cache_cluster_id]
        self.tagging_service.delete_all_tags_for_resource(cluster.arn)
        return cluster

    models.ElastiCacheBackend.delete_replication_group = delete_replication_group
    models.ElastiCacheBackend.delete_cache_cluster = delete_cache_cluster


def _primary_member(group: models.ReplicationGroup) -> str | None:
    for node_group in group.node_groups:
        for member in node_group["node_group_members"]:
            if member.get("current_role") == "primary":
                return member["cache_cluster_id"]
    return None


@fidelity_patch
def cache_subnet_groups_can_be_modified_and_deleted() -> None:
    """ModifyCacheSubnetGroup changes a cache subnet group; DeleteCacheSubnetGroup deletes it unless a cluster uses it, as on AWS."""

    def modify_cache_subnet_group(self: ElastiCacheResponse) -> ActionResult:
        backend = self.elasticache_backend
        group = backend.describe_cache_subnet_groups(self._get_param("CacheSubnetGroupName"))[0]
        updated = models.CacheSubnetGroup(
            account_id=backend.account_id,
            region_name=backend.region_name,
            cache_subnet_group_name=group.cache_subnet_group_name,
            cache_subnet_group_description=self._get_param("CacheSubnetGroupDescription")
            or group.cache_subnet_group_description,
            subnet_ids=self._get_param("SubnetIds") or group.subnet_ids,
            tags=group.tags,
        )
        backend.cache_subnet_groups[group.cache_subnet_group_name] = updated
        return ActionResult({"CacheSubnetGroup": updated})

    def delete_cache_subnet_group(self: ElastiCacheResponse) -> EmptyResult:
        backend = self.elasticache_backend
        group = backend.describe_cache_subnet_groups(self._get_param("CacheSubnetGroupName"))[0]
        users = list(backend.cache_clusters.values()) + list(backend.replication_groups.values())
        if any(user.cache_subnet_group_name == group.cache_subnet_group_name for user in users):
            raise CacheSubnetGroupInUse(group.cache_subnet_group_name)
        del backend.cache_subnet_groups[group.cache_subnet_group_name]
        backend.tagging_service.delete_all_tags_for_resource(group.arn)
        return EmptyResult()

    ElastiCacheResponse.modify_cache_subnet_group = modify_cache_subnet_group
    ElastiCacheResponse.delete_cache_subnet_group = delete_cache_subnet_group
