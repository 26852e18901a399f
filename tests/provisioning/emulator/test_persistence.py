"""The emulator's AWS state survives a restart: restored from its encrypted state file, with the same ids.

Each test starts its own emulators (the session's one keeps no state file) on a state file under tmp_path.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import moto
import pytest
from cryptography.fernet import Fernet

from portal import launcher
from provisioning import aws
from provisioning.emulator import EmulatorProcess, persistence, state_file
from provisioning.emulator.state_file import Header, StateKeyError
from tests.support.stack import wait_for

REGION = "eu-west-1"
SECRET_VALUE = "launchpad-secret-" + uuid.uuid4().hex
PARAMETER_VALUE = "launchpad-securestring-" + uuid.uuid4().hex
DB_PASSWORD = "launchpad-db-" + uuid.uuid4().hex
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def keeping(path: Path, key: str, port: int | None = None) -> EmulatorProcess:
    """An emulator (not started) keeping its state in ``path``, saving a change within half a second."""
    return EmulatorProcess(
        port=port, log_path=path.parent / "emulator.log", state_file=path, state_key=key, save_interval=0.5
    )


def saved(emulator: EmulatorProcess) -> dict:
    """Wait until every change the emulator took is in its state file; its report."""
    return wait_for(
        lambda: (report := emulator.state())["saves"] and not report["unsaved_changes"] and report, 60, "a save"
    )


def distribution_config(identity_id: str) -> dict:
    return {
        "CallerReference": uuid.uuid4().hex,
        "Comment": "audio",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "s3-audio",
                    "DomainName": "audio.s3.eu-west-1.amazonaws.com",
                    "S3OriginConfig": {"OriginAccessIdentity": f"origin-access-identity/cloudfront/{identity_id}"},
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "s3-audio",
            "ViewerProtocolPolicy": "redirect-to-https",
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            "MinTTL": 0,
        },
    }


def create_resources(endpoint: str) -> dict:
    """What the blueprints create, one of each kind (the fidelity patches' own objects included); their ids."""

    def client(service: str, region: str = REGION):
        return aws.client(service, region, endpoint=endpoint)

    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.91.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.91.1.0/24", AvailabilityZone="eu-west-1a")["Subnet"]
    client("s3").create_bucket(Bucket="audio-kept", CreateBucketConfiguration={"LocationConstraint": REGION})
    client("s3").put_object(Bucket="audio-kept", Key="tracks/1.mp3", Body=b"ID3 audio bytes")
    dynamodb = client("dynamodb")
    dynamodb.create_table(
        TableName="locks-kept",
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="locks-kept", Item={"LockID": {"S": "state-md5"}, "Digest": {"S": "abc"}})
    queue_url = client("sqs").create_queue(QueueName="work-kept", Attributes={"VisibilityTimeout": "99"})["QueueUrl"]
    client("sqs").send_message(QueueUrl=queue_url, MessageBody="transcode track 1")
    secret_arn = client("secretsmanager").create_secret(Name="db-kept", SecretString=SECRET_VALUE)["ARN"]
    client("ssm").put_parameter(Name="/kept/app-key", Value=PARAMETER_VALUE, Type="SecureString")
    iam = client("iam")
    role = iam.create_role(RoleName="task-kept", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"}))
    execution_policy = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
    iam.attach_role_policy(RoleName="task-kept", PolicyArn=execution_policy)
    key_id = client("kms").create_key(Description="kept")["KeyMetadata"]["KeyId"]
    ecs = client("ecs")
    cluster_arn = ecs.create_cluster(clusterName="cluster-kept")["cluster"]["clusterArn"]
    ecs.register_task_definition(family="web-kept", containerDefinitions=[{"name": "web", "image": "x", "memory": 128}])
    service = ecs.create_service(
        cluster="cluster-kept", serviceName="web", taskDefinition="web-kept", desiredCount=2, enableECSManagedTags=True
    )["service"]
    elasticache = client("elasticache")
    elasticache.create_cache_parameter_group(
        CacheParameterGroupName="redis-kept", CacheParameterGroupFamily="redis5.0", Description="kept"
    )
    elasticache.create_cache_cluster(
        CacheClusterId="cache-kept",
        Engine="redis",
        EngineVersion="5.0.6",
        CacheNodeType="cache.t3.micro",
        NumCacheNodes=1,
        CacheParameterGroupName="redis-kept",
    )
    db = client("rds").create_db_instance(
        DBInstanceIdentifier="db-kept",
        DBInstanceClass="db.t3.micro",
        Engine="mysql",
        EngineVersion="8.0.35",
        MasterUsername="spotmusic",
        MasterUserPassword=DB_PASSWORD,
        AllocatedStorage=20,
        StorageEncrypted=True,
    )["DBInstance"]
    cloudfront = client("cloudfront", "us-east-1")
    identity = cloudfront.create_cloud_front_origin_access_identity(
        CloudFrontOriginAccessIdentityConfig={"CallerReference": "kept", "Comment": "kept"}
    )["CloudFrontOriginAccessIdentity"]
    distribution = cloudfront.create_distribution(DistributionConfig=distribution_config(identity["Id"]))
    web_acl = client("wafv2").create_web_acl(
        Name="api-kept",
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        Rules=[],
        VisibilityConfig={"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False, "MetricName": "kept"},
    )["Summary"]
    client("cloudwatch").put_metric_alarm(
        AlarmName="kept-cpu",
        MetricName="CPUUtilization",
        Namespace="AWS/ECS",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=80,
        ComparisonOperator="GreaterThanThreshold",
    )
    api_id = client("apigateway").create_rest_api(name="api-kept")["id"]
    client("logs").create_log_group(logGroupName="/ecs/kept")
    return {
        "vpc": vpc,
        "subnet": subnet["SubnetId"],
        "queue_url": queue_url,
        "secret_arn": secret_arn,
        "role_id": role["Role"]["RoleId"],
        "key_id": key_id,
        "cluster_arn": cluster_arn,
        "service_arn": service["serviceArn"],
        "deployment": service["deployments"][0]["id"],
        "db_resource_id": db["DbiResourceId"],
        "identity": identity["Id"],
        "distribution": distribution["Distribution"]["Id"],
        "web_acl": web_acl["ARN"],
        "api_id": api_id,
    }


def read_back(endpoint: str, ids: dict) -> None:
    """Every resource of :func:`create_resources`, with the same ids and contents (reads only)."""

    def client(service: str, region: str = REGION):
        return aws.client(service, region, endpoint=endpoint)

    ec2 = client("ec2")
    assert ec2.describe_vpcs(VpcIds=[ids["vpc"]])["Vpcs"][0]["CidrBlock"] == "10.91.0.0/16"
    assert ec2.describe_subnets(SubnetIds=[ids["subnet"]])["Subnets"][0]["VpcId"] == ids["vpc"]
    assert client("s3").get_object(Bucket="audio-kept", Key="tracks/1.mp3")["Body"].read() == b"ID3 audio bytes"
    item = client("dynamodb").get_item(TableName="locks-kept", Key={"LockID": {"S": "state-md5"}})["Item"]
    assert item["Digest"] == {"S": "abc"}
    sqs = client("sqs")
    assert sqs.get_queue_url(QueueName="work-kept")["QueueUrl"] == ids["queue_url"]
    attributes = sqs.get_queue_attributes(QueueUrl=ids["queue_url"], AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "99" and attributes["ApproximateNumberOfMessages"] == "1"
    secret = client("secretsmanager").get_secret_value(SecretId="db-kept")
    assert (secret["ARN"], secret["SecretString"]) == (ids["secret_arn"], SECRET_VALUE)
    parameter = client("ssm").get_parameter(Name="/kept/app-key", WithDecryption=True)["Parameter"]
    assert (parameter["Type"], parameter["Value"]) == ("SecureString", PARAMETER_VALUE)
    iam = client("iam")
    assert iam.get_role(RoleName="task-kept")["Role"]["RoleId"] == ids["role_id"]
    attached = iam.list_attached_role_policies(RoleName="task-kept")["AttachedPolicies"]
    assert [policy["PolicyName"] for policy in attached] == ["AmazonECSTaskExecutionRolePolicy"]
    execution_policy = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
    policy = iam.get_policy(PolicyArn=execution_policy)["Policy"]
    assert policy["AttachmentCount"] == 1
    document = iam.get_policy_version(PolicyArn=execution_policy, VersionId=policy["DefaultVersionId"])
    actions = [
        action for statement in document["PolicyVersion"]["Document"]["Statement"] for action in statement["Action"]
    ]
    assert "ecr:GetAuthorizationToken" in actions
    assert client("kms").describe_key(KeyId=ids["key_id"])["KeyMetadata"]["Description"] == "kept"
    ecs = client("ecs")
    assert ecs.describe_clusters(clusters=["cluster-kept"])["clusters"][0]["clusterArn"] == ids["cluster_arn"]
    service = ecs.describe_services(cluster="cluster-kept", services=["web"])["services"][0]
    assert service["serviceArn"] == ids["service_arn"] and service["runningCount"] == 2
    assert service["enableECSManagedTags"] is True
    assert service["deployments"][0]["id"] == ids["deployment"]
    assert any("has reached a steady state" in event["message"] for event in service["events"])
    elasticache = client("elasticache")
    cluster = elasticache.describe_cache_clusters(CacheClusterId="cache-kept")["CacheClusters"][0]
    assert cluster["CacheParameterGroup"]["CacheParameterGroupName"] == "redis-kept"
    groups = elasticache.describe_cache_parameter_groups(CacheParameterGroupName="redis-kept")["CacheParameterGroups"]
    assert groups[0]["CacheParameterGroupFamily"] == "redis5.0"
    db = client("rds").describe_db_instances(DBInstanceIdentifier="db-kept")["DBInstances"][0]
    assert db["DbiResourceId"] == ids["db_resource_id"] and db["StorageEncrypted"] is True
    cloudfront = client("cloudfront", "us-east-1")
    assert cloudfront.get_cloud_front_origin_access_identity(Id=ids["identity"])
    origin = cloudfront.get_distribution(Id=ids["distribution"])["Distribution"]["DistributionConfig"]["Origins"]
    assert origin["Items"][0]["S3OriginConfig"]["OriginAccessIdentity"].endswith(ids["identity"])
    acl = client("wafv2").get_web_acl(Name="api-kept", Scope="REGIONAL", Id=ids["web_acl"].rsplit("/", 1)[-1])
    assert acl["WebACL"]["ARN"] == ids["web_acl"]
    assert client("cloudwatch").describe_alarms(AlarmNames=["kept-cpu"])["MetricAlarms"]
    assert client("apigateway").get_rest_api(restApiId=ids["api_id"])["name"] == "api-kept"
    assert client("logs").describe_log_groups(logGroupNamePrefix="/ecs/kept")["logGroups"]


def assert_no_secret_in_clear(path: Path) -> None:
    data = path.read_bytes()
    for secret in (SECRET_VALUE, PARAMETER_VALUE, DB_PASSWORD):
        for form in (secret.encode(), base64.b64encode(secret.encode()), base64.urlsafe_b64encode(secret.encode())):
            assert form not in data, "a secret is in the state file in clear"


def test_state_survives_a_stop_and_a_kill_with_the_same_ids(tmp_path, key):
    path = tmp_path / "emulator-state.bin"
    first = keeping(path, key).start()
    try:
        assert first.state()["restored"] is None
        ids = create_resources(first.endpoint)
    finally:
        first.stop()
    assert first.process.returncode == 0
    assert path.stat().st_mode & 0o777 == 0o600
    assert_no_secret_in_clear(path)

    # On the same port, as `make run` restarts it: a queue's URL names the host it was asked on.
    second = keeping(path, key, port=first.port).start()
    try:
        report = second.state()
        assert report["refused"] is None
        assert {"ec2", "s3", "iam", "rds", "cloudfront", "wafv2"} <= set(report["restored"]["services"])
        assert "restored from" in second.state_summary()
        read_back(second.endpoint, ids)
        assert second.state()["unsaved_changes"] is False, "reads are not changes: nothing to save"
        sqs = aws.client("sqs", REGION, endpoint=second.endpoint)
        later_queue = sqs.create_queue(QueueName="after-restart")["QueueUrl"]
        saved(second)
    finally:
        second.process.kill()  # SIGKILL: no last save, only what the periodic save wrote
        second.process.wait()

    third = keeping(path, key, port=first.port).start()
    try:
        read_back(third.endpoint, ids)
        assert aws.client("sqs", REGION, endpoint=third.endpoint).get_queue_url(QueueName="after-restart")[
            "QueueUrl"
        ] == (later_queue)
    finally:
        third.stop()
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emulator-state.bin", "emulator.log"], "no leftovers"


def test_a_reset_is_saved_too(tmp_path, key):
    path = tmp_path / "state.bin"
    with keeping(path, key) as emulator:
        sqs = aws.client("sqs", REGION, endpoint=emulator.endpoint)
        sqs.create_queue(QueueName="forgotten")
        saved(emulator)
        emulator.reset()
    with keeping(path, key) as emulator:
        assert not aws.client("sqs", REGION, endpoint=emulator.endpoint).list_queues().get("QueueUrls")


def test_a_file_written_with_another_key_is_moved_aside_and_the_emulator_starts_empty(tmp_path, key):
    path = tmp_path / "state.bin"
    with keeping(path, key) as emulator:
        aws.client("sqs", REGION, endpoint=emulator.endpoint).create_queue(QueueName="under-the-old-key")

    with keeping(path, Fernet.generate_key().decode()) as emulator:
        report = emulator.state()
        assert "cannot be decrypted" in report["refused"]
        assert "NOT restored" in emulator.state_summary() and "Started empty" in emulator.state_summary()
        assert not aws.client("sqs", REGION, endpoint=emulator.endpoint).list_queues().get("QueueUrls")
    moved = Path(report["moved_to"])
    assert moved.parent == tmp_path and moved.name.startswith("state.bin.refused-")
    assert "refused" in (tmp_path / "emulator.log").read_text()


def refused_reason(path: Path, key: str) -> str:
    """Restore ``path`` in this process (a refused file installs nothing); the reason it was refused."""
    state = persistence.PersistentState(path, key)
    state.restore()
    assert state.status["restored"] is None
    assert not path.exists(), "a refused file is moved aside"
    assert Path(state.status["moved_to"]).exists()
    return state.status["refused"]


def test_a_file_of_another_moto_version_is_refused(tmp_path, key):
    path = tmp_path / "state.bin"
    header = Header(moto_version="5.0.0", saved_at="2026-01-01 00:00:00 UTC")
    path.write_bytes(state_file.encode(b"whatever moto 5.0.0 pickled", header, Fernet(key)))

    assert refused_reason(path, key) == f"it was saved by moto 5.0.0, this emulator runs moto {moto.__version__}"


def test_a_snapshot_that_does_not_unpickle_is_refused(tmp_path, key):
    path = tmp_path / "state.bin"
    header = Header(moto_version=moto.__version__, saved_at="2026-01-01 00:00:00 UTC")
    path.write_bytes(state_file.encode(b"not a pickle", header, Fernet(key)))

    assert refused_reason(path, key) == "its snapshot cannot be restored (UnpicklingError)"


def test_a_file_that_is_no_state_file_is_refused(tmp_path, key):
    path = tmp_path / "state.bin"
    path.write_bytes(b"\x00" * 64)

    assert "cannot be decrypted" in refused_reason(path, key)


def test_a_state_file_needs_a_fernet_key(tmp_path):
    with pytest.raises(StateKeyError, match="LAUNCHPAD_EMULATOR_STATE_KEY"):
        persistence.PersistentState(tmp_path / "state.bin", None)
    with pytest.raises(StateKeyError, match="not a Fernet key"):
        persistence.PersistentState(tmp_path / "state.bin", "secret-key-of-the-portal")

    env = {k: v for k, v in os.environ.items() if k != state_file.STATE_KEY_VARIABLE}
    result = subprocess.run(
        [sys.executable, "-m", "provisioning.emulator", "--state", str(tmp_path / "state.bin")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "A state file needs its encryption key in LAUNCHPAD_EMULATOR_STATE_KEY" in result.stderr
    assert not (tmp_path / "state.bin").exists()


def environ(method: str, path: str = "/", body: bytes = b"", **headers: str) -> dict:
    query = path.partition("?")[2]
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path.partition("?")[0],
        "QUERY_STRING": query,
        "CONTENT_TYPE": headers.pop("content_type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        **{f"HTTP_{name.upper()}": value for name, value in headers.items()},
    }


@pytest.mark.parametrize(
    ("request_environ", "changes"),
    [
        (environ("POST", body=b"Action=DescribeVpcs&Version=2016-11-15", content_type=FORM), False),
        (environ("POST", body=b"Action=CreateVpc&CidrBlock=10.0.0.0%2F16", content_type=FORM), True),
        (environ("POST", body=b"{}", x_amz_target="AmazonEC2ContainerServiceV20141113.DescribeServices"), False),
        (environ("POST", body=b"{}", x_amz_target="DynamoDB_20120810.PutItem"), True),
        (environ("POST", body=b"{}", x_amz_target="DynamoDB_20120810.Scan"), False),
        (environ("POST", "/service/GraniteServiceVersion20100801/operation/GetMetricData"), False),
        (environ("POST", "/service/GraniteServiceVersion20100801/operation/PutMetricData"), True),
        (environ("GET", "/audio-bucket?list-type=2"), False),
        (environ("PUT", "/audio-bucket/track.mp3", body=b"ID3"), True),
        (environ("POST", "/moto-api/reset"), True),
        (environ("POST", "/some/rest/path", body=b"<xml/>", content_type="application/xml"), True),
    ],
)
def test_requests_that_change_state_are_told_from_reads(request_environ, changes):
    body = request_environ["wsgi.input"].getvalue()
    action = persistence.request_action(request_environ)

    assert persistence.changes_state(request_environ["REQUEST_METHOD"], action) is changes
    assert request_environ["wsgi.input"].read() == body, "moto still reads the whole body"


def test_a_snapshot_waits_for_requests_under_way_and_gives_up_on_one_that_does_not_end():
    gate = persistence.RequestGate()
    events: list[str] = []
    request_may_end = threading.Event()

    def request() -> None:
        with gate.shared():
            events.append("request started")
            request_may_end.wait()
            events.append("request ended")

    worker = threading.Thread(target=request)
    worker.start()
    wait_for(lambda: events, 10, "the request", interval=0.01)
    with gate.exclusive(timeout=0.05) as drained:
        assert drained is False, "a request is still under way"
    request_may_end.set()
    with gate.exclusive(timeout=30) as drained:
        assert drained is True
        events.append("snapshot")
    worker.join()
    assert events == ["request started", "request ended", "snapshot"]


def test_launcher_keeps_the_state_in_the_data_dir_with_a_key_from_secret_key(tmp_path):
    env = {"LAUNCHPAD_DATA_DIR": str(tmp_path), "SECRET_KEY": "local-secret"}

    options = launcher.emulator_state_options(env)

    assert options == {
        "state_file": tmp_path / "emulator-state.bin",
        "state_key": state_file.derive_state_key("local-secret"),
    }
    Fernet(options["state_key"])  # a valid Fernet key, not SECRET_KEY itself
    assert options["state_key"] != "local-secret"
    assert state_file.STATE_KEY_VARIABLE not in env, "the other processes do not get the key"
    assert launcher.emulator_state_options({**env, "LAUNCHPAD_EMULATOR_STATE": "off"}) == {}
    own_key = Fernet.generate_key().decode()
    chosen = launcher.emulator_state_options({**env, state_file.STATE_KEY_VARIABLE: own_key})
    assert chosen["state_key"] == own_key
