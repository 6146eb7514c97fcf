"""End to end through Dagster's own interfaces: the webserver, its GraphQL API and the Python client.

A real `dagster-webserver` is started on 127.0.0.1 with a throwaway instance, seeds and data folder;
the test reads the asset graph the UI draws, adds the documents' partitions the way the sensor
would, launches the job `build` over both documents as the sensor does, checks the release it
cut, and re-executes the run as the UI's "Re-execute" does. The webserver runs no daemon, so the
test instance uses the DefaultRunCoordinator: a launched run starts at once instead of waiting
in the queue for a daemon that never comes.
"""
from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from dagster_graphql import DagsterGraphQLClient

from conftest import CHECK_RELEASE, REPO, copy_seeds

# dagster_graphql's client calls gql's execute() the old way; that is theirs to change, not ours.
pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:Using variable_values and operation_name:DeprecationWarning")]

HOST = "127.0.0.1"
LOCATION = "unparl"
PARTITIONS = "documents"
STAGES = {"documents", "tokens", "entities"}
CORPUS = {"corpus", "document_status", "entity_catalog", "corpus_statistics", "release"}
# The release's ZIP is an asset of its own, after the release.
GROUPS = {**dict.fromkeys(STAGES, "documents"), **dict.fromkeys(CORPUS - {"release"}, "corpus"), "release": "publish",
          "release_archive": "publish"}
INSTANCE_YAML = """\
telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
"""
START_TIMEOUT = 60
RUN_TIMEOUT = 150

ASSET_GRAPH = """
query {
  repositoriesOrError {
    __typename
    ... on RepositoryConnection { nodes { name location { name } } }
    ... on PythonError { message }
  }
  assetNodes {
    assetKey { path }
    groupName
    isPartitioned
    partitionDefinition { type name }
    dependencyKeys { path }
    jobNames
  }
}
"""
ADD_PARTITION = """
mutation($repository: RepositorySelector!, $name: String!, $key: String!) {
  addDynamicPartition(repositorySelector: $repository, partitionsDefName: $name, partitionKey: $key) {
    __typename
    ... on AddDynamicPartitionSuccess { partitionKey }
    ... on PythonError { message }
    ... on UnauthorizedError { message }
    ... on DuplicateDynamicPartitionError { partitionName }
  }
}
"""
AFTER_RUN = """
query {
  assetNodes {
    assetKey { path }
    partitionKeys
    partitionStats { numMaterialized numPartitions }
    assetMaterializations(limit: 1) { runId }
    assetChecksOrError {
      ... on AssetChecks { checks { name blocking executionForLatestMaterialization { status } } }
    }
  }
}
"""


REEXECUTE = """
mutation($reexecutionParams: ReexecutionParams) {
  launchPipelineReexecution(reexecutionParams: $reexecutionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId pipelineName parentRunId } }
    ... on PythonError { message }
    ... on PipelineNotFoundError { message }
  }
}
"""


@dataclass
class Webserver:
    port: int
    home: Path
    seeds: Path
    data: Path
    log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/graphql"

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        response = requests.post(self.url, json={"query": query, "variables": variables or {}}, timeout=60)
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def client(self) -> DagsterGraphQLClient:
        return DagsterGraphQLClient(HOST, port_number=self.port, timeout=60)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_until_loaded(server: Webserver, process: subprocess.Popen) -> None:
    """The webserver answers, and the code location has loaded (a repository is listed)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster-webserver exited with {process.returncode}:\n{server.tail()}")
        try:
            repos = server.graphql(ASSET_GRAPH)["repositoriesOrError"]
            if repos["__typename"] == "RepositoryConnection" and repos["nodes"]:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.5)
    pytest.fail(f"dagster-webserver did not load the code location in {START_TIMEOUT}s:\n{server.tail()}")


def stop(process: subprocess.Popen) -> None:
    """Stop the webserver with its code server and any run worker: the whole process group."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


def wait_for(server: Webserver, client: DagsterGraphQLClient, run_id: str) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT
    status = client.get_run_status(run_id)
    while status.value not in ("SUCCESS", "FAILURE", "CANCELED") and time.monotonic() < deadline:
        time.sleep(1)
        status = client.get_run_status(run_id)
    assert status.value == "SUCCESS", f"run {run_id} ended {status.value}:\n{server.tail()}"


@pytest.fixture(scope="module")
def webserver(tmp_path_factory) -> Webserver:
    root = tmp_path_factory.mktemp("webserver")
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_YAML)
    server = Webserver(port=free_port(), home=home, seeds=copy_seeds(root / "seeds"), data=root / "data",
                       log=root / "webserver.log")
    server.data.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home), "UNPARL_SEEDS_DIR": str(server.seeds),
           "UNPARL_DATA_DIR": str(server.data), "DAGSTER_DISABLE_TELEMETRY": "1"}
    webserver_bin = Path(sys.executable).with_name("dagster-webserver")
    with server.log.open("wb") as log:
        process = subprocess.Popen(
            [str(webserver_bin), "-h", HOST, "-p", str(server.port), "-w", str(REPO / "workspace.yaml")],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_loaded(server, process)
        yield server
    finally:
        stop(process)


@pytest.fixture(scope="module")
def repository(webserver) -> dict:
    (repo,) = webserver.graphql(ASSET_GRAPH)["repositoriesOrError"]["nodes"]
    return {"repositoryLocationName": repo["location"]["name"], "repositoryName": repo["name"]}


def test_the_code_location_loads_under_its_own_name(repository, webserver):
    assert repository["repositoryLocationName"] == LOCATION
    # Dagster warns when workspace.yaml's location_name and [tool.dg.project] disagree.
    assert "does not match the name" not in webserver.log.read_text(errors="replace"), webserver.tail()


def test_asset_graph_has_every_asset_in_its_group(webserver):
    nodes = {"/".join(n["assetKey"]["path"]): n for n in webserver.graphql(ASSET_GRAPH)["assetNodes"]}
    assert set(nodes) == set(GROUPS)
    assert {key: node["groupName"] for key, node in nodes.items()} == GROUPS
    for key, node in nodes.items():
        assert node["isPartitioned"] == (key in STAGES), key
        if key in STAGES:
            assert node["partitionDefinition"] == {"type": "DYNAMIC", "name": PARTITIONS}
        # the jobs a run of this asset can belong to, each re-executable from the UI
        named = {job for job in node["jobNames"] if not job.startswith("__")}
        assert named == ({"document_chain", "build"} if key in STAGES else {"corpus_release", "build"}), key
    deps = {key: {"/".join(d["path"]) for d in node["dependencyKeys"]} for key, node in nodes.items()}
    assert deps["tokens"] == {"documents"}
    assert deps["entities"] == {"documents", "tokens"}
    assert deps["corpus"] == STAGES
    assert deps["release"] == {"corpus", "document_status", "entity_catalog", "corpus_statistics"}
    assert deps["release_archive"] == {"release"}


def test_the_build_job_through_the_api_cuts_a_valid_release_and_reexecutes(webserver, repository):
    keys = sorted(p.name.removesuffix(".txt") for p in webserver.seeds.glob("*.txt"))
    assert len(keys) == 2
    # What new_reports_sensor asks for in production: one partition per seed document.
    for key in keys:
        added = webserver.graphql(ADD_PARTITION, {"repository": repository, "name": PARTITIONS, "key": key})
        assert added["addDynamicPartition"] == {"__typename": "AddDynamicPartitionSuccess", "partitionKey": key}

    # What the sensor asks for: the job `build`, the stages over the range of documents, the corpus once.
    client = webserver.client()
    run_id = client.submit_job_execution(
        "build", repository_location_name=repository["repositoryLocationName"],
        repository_name=repository["repositoryName"],
        tags={"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1],
              "unparl/trigger": "test_webserver_e2e"})
    wait_for(webserver, client, run_id)

    nodes = {"/".join(n["assetKey"]["path"]): n for n in webserver.graphql(AFTER_RUN)["assetNodes"]}
    for key, node in nodes.items():
        assert node["assetMaterializations"][0]["runId"] == run_id, key
        if key in STAGES:
            assert node["partitionKeys"] == keys
            assert node["partitionStats"] == {"numMaterialized": 2, "numPartitions": 2}, key
        for check in node["assetChecksOrError"]["checks"]:
            assert check["executionForLatestMaterialization"]["status"] == "SUCCEEDED", (key, check)

    version = (webserver.data / "LATEST").read_text().strip()
    release = webserver.data / "releases" / version
    assert (release / "manifest.json").is_file()
    archive = webserver.data / "releases" / f"unparl-{version}.zip"
    assert archive.is_file()
    assert (archive.parent / f"{archive.name}.sha256").read_text().split()[0] == hashlib.sha256(
        archive.read_bytes()).hexdigest()
    checked = subprocess.run([sys.executable, str(CHECK_RELEASE), str(webserver.data)],
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # The UI's "Re-execute all": the run names a job of the definitions, so it can be run again.
    answer = webserver.graphql(REEXECUTE, {"reexecutionParams": {"parentRunId": run_id, "strategy": "ALL_STEPS"}})
    launched = answer["launchPipelineReexecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    child = launched["run"]
    assert (child["pipelineName"], child["parentRunId"]) == ("build", run_id)
    wait_for(webserver, client, child["runId"])
    nodes = {"/".join(n["assetKey"]["path"]): n for n in webserver.graphql(AFTER_RUN)["assetNodes"]}
    assert {key: node["assetMaterializations"][0]["runId"] for key, node in nodes.items()} == dict.fromkeys(
        GROUPS, child["runId"])
