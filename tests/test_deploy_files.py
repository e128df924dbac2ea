"""The files for a class past one machine hold together: the image, the Zero to JupyterHub values, the
exchange's claim and the grader pod (all in autograder/hub/).

No container engine or cluster runs here, so these tests read the files: each checks one thing a
deployment depends on, and fails when one file changes without the others.
"""
import re
import shlex
from pathlib import Path

import pytest
import yaml
from traitlets.config import Config

from conftest import REPO
from test_environment import HUB_CONDA, conda_pins

HUB = REPO / "autograder" / "hub"
COURSE_DIR = "/opt/imbalanced-course"  # where the image holds the course


def dockerfile_instructions(path=HUB / "Dockerfile"):
    """[(INSTRUCTION, arguments)] with continuation lines joined and comments dropped."""
    instructions, pending = [], ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or not stripped:
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append((keyword.upper(), " ".join(arguments.split())))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def arguments_of(keyword):
    return [arguments for instruction, arguments in dockerfile_instructions() if instruction == keyword]


def load_config_file(path):
    """The traitlets Config an nbgrader_config.py-style file sets."""
    config = Config()
    exec(compile(path.read_text(), str(path), "exec"), {"get_config": lambda: config, "__file__": str(path)})
    return config


def image_config():
    """The image's global nbgrader config: the file the Dockerfile copies to /etc/jupyter/."""
    for arguments in arguments_of("COPY"):
        *sources, destination = arguments.split()
        if destination == "/etc/jupyter/nbgrader_config.py":
            (source,) = sources
            return load_config_file(REPO / source)
    pytest.fail("the Dockerfile copies no nbgrader config to /etc/jupyter/nbgrader_config.py")


def labels():
    found = {}
    for arguments in arguments_of("LABEL"):
        for pair in shlex.split(arguments):
            key, _, value = pair.partition("=")
            found[key] = value
    return found


def values():
    return yaml.safe_load((HUB / "z2jh-values.yaml").read_text())


def manifests(name):
    return [doc for doc in yaml.safe_load_all((HUB / name).read_text()) if doc]


def one(name, kind):
    (found,) = [doc for doc in manifests(name) if doc["kind"] == kind]
    return found


def built_image():
    """name:tag of the image the Dockerfile builds, from its labels and the deployment guide's build command."""
    return f"registry.example.org/{labels()['org.opencontainers.image.title']}:{labels()['org.opencontainers.image.version']}"


def grader_container():
    (container,) = one("grader.yaml", "Deployment")["spec"]["template"]["spec"]["containers"]
    return container


def memory_bytes(quantity):
    units = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    number, unit = re.fullmatch(r"([\d.]+)([KMG]i?)?", str(quantity)).groups()
    return float(number) * units[unit or ""]


# The image


def test_base_image_is_pinned_by_version_or_digest():
    (base,) = arguments_of("FROM")
    assert "@sha256:" in base or re.search(r":\d+\.\d+[\w.-]*$", base), f"FROM {base}: pin a version tag or a digest"
    assert not base.endswith(":latest")


def test_environment_is_built_from_the_environment_files_alone():
    """Package versions come from environment.yml and the hub's additions to it: no install names a
    package or a version of its own."""
    assert any(a.split()[:-1] and "environment.yml" in a.split()[:-1] for a in arguments_of("COPY"))
    runs = arguments_of("RUN")
    installs = [cmd for run in runs for cmd in re.split(r"&&|;", run) if re.search(r"\b(pip|conda|mamba|micromamba)\b.*\b(install|create)\b", cmd)]
    assert installs, "the Dockerfile installs no environment"
    for command in installs:
        words = command.split()
        assert words[0] == "micromamba", f"{command!r}: only micromamba installs, from environment.yml"
        rest = " ".join(words[1:])
        for allowed in ("--freeze-installed", "install", "--yes", "--name base",
                        "--file environment.yml", "--file autograder/hub/environment-hub.yml"):
            rest = rest.replace(allowed, "")
        assert not rest.strip(), f"{command!r} installs more than the environment files: {rest.strip()!r}"


def test_the_hub_environment_gives_the_hub_its_single_user_server():
    """Zero to JupyterHub starts jupyterhub-singleuser, which comes with the jupyterhub package."""
    assert values()["singleuser"]["cmd"] == "jupyterhub-singleuser"
    assert "jupyterhub" in conda_pins(HUB_CONDA) and "jupyterhub" not in conda_pins()


def test_only_debian_packages_besides_the_environment_and_bubblewrap_among_them():
    apt = [cmd for run in arguments_of("RUN") for cmd in run.split("&&") if "apt-get install" in cmd]
    assert apt and "bubblewrap" in apt[0].split(), "the grader's sandbox needs the Debian package bubblewrap"


def test_course_is_copied_in_and_build_state_left_out():
    assert f". {COURSE_DIR}/" in arguments_of("COPY")
    ignored = (HUB / "Dockerfile.dockerignore").read_text().split()
    for path in (".git", ".venv", "**/node_modules", "autograder/submitted", "autograder/gradebook.db",
                 "autograder/downloaded", "autograder/exports"):  # student data from and for the LMS
        assert path in ignored, f"{path} would be copied into the image"


def test_image_runs_as_jovyan_the_uid_the_hub_expects():
    instructions = dockerfile_instructions()
    last_user = [arguments for keyword, arguments in instructions if keyword == "USER"][-1]
    args = dict(a.split("=", 1) for a in arguments_of("ARG") if "=" in a)
    user = args.get(last_user.strip("${}"), last_user)
    assert user == "jovyan" and args["NB_UID"] == str(values()["singleuser"]["uid"]) == "1000"
    assert not any(keyword in ("RUN", "COPY") for keyword, _ in instructions[instructions.index(("USER", last_user)):])


def test_image_config_names_the_course_and_the_exchange():
    course = load_config_file(REPO / "nbgrader_config.py").CourseDirectory.course_id
    config = image_config()
    assert config.CourseDirectory.course_id == course
    assert config.Exchange.root.startswith("/srv/")


def test_no_dockerfile_where_repo2docker_would_prefer_it_to_environment_yml():
    assert (REPO / "environment.yml").is_file()
    for folder in (REPO, REPO / "binder", REPO / ".binder"):
        assert not (folder / "Dockerfile").exists(), f"{folder / 'Dockerfile'} would replace environment.yml on Binder"


# Zero to JupyterHub values, the exchange and the grader pod


def test_values_pull_the_image_the_dockerfile_builds():
    image = values()["singleuser"]["image"]
    assert f"{image['name']}:{image['tag']}" == built_image()
    spec = one("grader.yaml", "Deployment")["spec"]["template"]["spec"]
    assert {c["image"] for c in spec["containers"] + spec["initContainers"]} == {built_image()}
    assert f"-t {built_image()} ." in (HUB / "Dockerfile").read_text()
    guide = REPO / "docs" / "deployment.md"
    assert f"-t {built_image()} ." in guide.read_text(), "the deployment guide's build command names another image"


def test_exchange_is_a_read_write_many_claim_mounted_where_nbgrader_looks():
    claim = one("exchange-pvc.yaml", "PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    storage = values()["singleuser"]["storage"]
    (volume,) = [v for v in storage["extraVolumes"] if v["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]]
    (mount,) = [m for m in storage["extraVolumeMounts"] if m["name"] == volume["name"]]
    assert mount["mountPath"] == image_config().Exchange.root
    assert f"install -d -m 0777 {image_config().Exchange.root}" in arguments_of("RUN")


def test_grader_pod_mounts_the_same_exchange_at_the_same_path():
    spec = one("grader.yaml", "Deployment")["spec"]["template"]["spec"]
    claim = one("exchange-pvc.yaml", "PersistentVolumeClaim")["metadata"]["name"]
    (volume,) = [v for v in spec["volumes"] if v.get("persistentVolumeClaim", {}).get("claimName") == claim]
    mounts = [m["mountPath"] for m in grader_container()["volumeMounts"] if m["name"] == volume["name"]]
    assert mounts == [image_config().Exchange.root]


def test_groups_instructors_and_students_exist():
    assert {"instructors", "students"} <= set(values()["hub"]["config"]["JupyterHub"]["load_groups"])


def test_formgrader_is_a_service_named_after_the_course_served_by_the_grader_pod():
    course = image_config().CourseDirectory.course_id
    service = values()["hub"]["services"][course]
    kube_service = one("grader.yaml", "Service")
    port = kube_service["spec"]["ports"][0]["port"]
    assert service["url"] == f"http://{kube_service['metadata']['name']}:{port}"
    env = {e["name"]: e for e in grader_container()["env"]}
    assert env["JUPYTERHUB_SERVICE_NAME"]["value"] == course
    assert env["JUPYTERHUB_SERVICE_PREFIX"]["value"] == f"/services/{course}/"
    assert env["JUPYTERHUB_API_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "hub", "key": f"hub.services.{course}.apiToken"}


def test_only_instructors_may_access_the_formgrader():
    course = image_config().CourseDirectory.course_id
    granting = {
        name: role for name, role in values()["hub"]["loadRoles"].items()
        if any(s in ("access:services", f"access:services!service={course}") for s in role.get("scopes", []))
    }
    assert list(granting) == ["instructors"]
    role = granting["instructors"]
    assert role["groups"] == ["instructors"] and not role.get("users") and not role.get("services")


def test_student_pods_have_resource_limits_and_idle_servers_are_culled():
    singleuser = values()["singleuser"]
    assert 0 < singleuser["cpu"]["guarantee"] <= singleuser["cpu"]["limit"]
    assert 0 < memory_bytes(singleuser["memory"]["guarantee"]) <= memory_bytes(singleuser["memory"]["limit"])
    cull = values()["cull"]
    assert cull["enabled"] and cull["timeout"] > 0


def test_grader_pod_is_alone_and_gives_its_cores_to_the_workers():
    deployment = one("grader.yaml", "Deployment")
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"]["type"] == "Recreate"
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] != 0
    env = {e["name"]: e for e in grader_container()["env"]}
    assert env["GRADER_WORKERS"]["valueFrom"]["resourceFieldRef"]["resource"] == "limits.cpu"
    assert grader_container()["resources"]["limits"]["cpu"]


# Grading on a Dask cluster (docs/grading-at-scale.md): dask-kubernetes beside the hub, dask-jobqueue on Slurm


def dask_cluster():
    return one("dask-cluster.yaml", "DaskCluster")


def options(args):
    """{--option: value} of a command line given as a list."""
    return {a: b for a, b in zip(args, args[1:]) if a.startswith("--")}


def test_dask_workers_run_the_class_image_with_the_grader_pods_sandbox_settings():
    worker = dask_cluster()["spec"]["worker"]["spec"]
    grader = one("grader.yaml", "Deployment")["spec"]["template"]["spec"]
    (container,) = worker["containers"]
    assert container["image"] == built_image()
    for key in ("runAsUser", "seccompProfile"):  # bubblewrap as jovyan, as docs/deployment.md says
        assert worker["securityContext"][key] == grader["securityContext"][key]
    assert container["args"][:2] == ["dask", "worker"] and options(container["args"])["--nthreads"] == "1"
    assert container["resources"]["limits"]["cpu"] == "1"


def test_dask_workers_hold_no_course_and_no_gradebook():
    worker = dask_cluster()["spec"]["worker"]["spec"]
    assert not [v for v in worker["volumes"] if "persistentVolumeClaim" in v]
    assert worker["automountServiceAccountToken"] is False


def test_the_scheduler_speaks_tls_only_with_certificates_of_one_ca():
    spec = dask_cluster()["spec"]
    (scheduler,) = spec["scheduler"]["spec"]["containers"]
    (worker,) = spec["worker"]["spec"]["containers"]
    assert options(scheduler["args"])["--protocol"] == "tls"
    port = options(scheduler["args"])["--port"]
    service = f"{dask_cluster()['metadata']['name']}-scheduler"
    assert f"tls://{service}:{port}" in worker["args"]
    for container in (scheduler, worker):
        assert options(container["args"])["--tls-ca-file"] == "/etc/grading-tls/ca.pem"
    header = (HUB / "dask-cluster.yaml").read_text()
    assert f"--scheduler tls://{service}:{port}" in header
    mounts = {m["name"]: m["mountPath"] for m in grader_container()["volumeMounts"]}
    (volume,) = [v for v in one("grader.yaml", "Deployment")["spec"]["template"]["spec"]["volumes"]
                 if v["name"] == "grading-tls"]
    files = {f"{mounts['grading-tls']}/{item['path']}" for item in volume["secret"]["items"]}
    assert {"/etc/grading-tls/ca.pem", "/etc/grading-tls/grader.pem"} <= files
    assert all(path in header for path in files), "the grading command names files the grader pod lacks"


def test_only_the_grader_and_the_workers_reach_the_scheduler():
    policy = next(d for d in manifests("dask-cluster.yaml")
                  if d["kind"] == "NetworkPolicy" and d["spec"]["podSelector"]["matchLabels"].get("dask.org/component") == "scheduler")
    allowed = [peer["podSelector"]["matchLabels"] for rule in policy["spec"]["ingress"] for peer in rule["from"]]
    grader_labels = one("grader.yaml", "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert any(labels.items() <= grader_labels.items() for labels in allowed)
    assert all(labels.get("dask.org/cluster-name") == "grading" or labels.items() <= grader_labels.items() for labels in allowed)


def slurm_cluster_call():
    import ast
    tree = ast.parse((REPO / "autograder" / "slurm" / "grade_on_slurm.py").read_text())
    (call,) = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "SLURMCluster"]
    return {k.arg: k.value for k in call.keywords}, tree


def test_slurm_jobs_run_one_single_threaded_worker_over_tls():
    import ast
    keywords, tree = slurm_cluster_call()
    assert ast.literal_eval(keywords["cores"]) == 1 and ast.literal_eval(keywords["processes"]) == 1
    assert ast.literal_eval(keywords["worker_extra_args"]) == ["--nthreads", "1"]
    assert ast.literal_eval(keywords["protocol"]) == "tls://"
    assert "security" in keywords
    source = ast.unparse(tree)
    assert "require_encryption=True" in source and "'--scheduler', cluster.scheduler_address" in source
    assert "dask-jobqueue==" in (REPO / "autograder" / "slurm" / "grade_on_slurm.py").read_text()
