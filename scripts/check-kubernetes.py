#!/usr/bin/env python3
"""Checks deploy/kubernetes offline: the kustomize base renders, every object is valid for the
Kubernetes API, and the base says what docs/deployment.md ("Kubernetes") promises.

    bash scripts/check-kubernetes.sh        # sets up the venv with kubernetes-validate, then this

- Rendering: `kubectl kustomize` when kubectl is on PATH; always also this script's own reading
  of the kustomization (its resources list, namespace, labels and images), which must give the
  same objects as kubectl where both run, and which checks that the list names every manifest
  of the folder and only files that exist.
- Validation: kubernetes-validate (the API's OpenAPI schemas, bundled in the package; strict:
  an unknown field is an error) for the built-in kinds, against KUBERNETES_VERSION; the
  ServiceMonitor (a Prometheus Operator CRD, which kubernetes-validate has no schema for) against
  deploy/kubernetes/schemas/. Both validators are shown to refuse a manifest with an unknown
  field, so a pass means something.
- Policy: non-root, read-only root, drop ALL + add NET_RAW, probes on /health and
  /health/detailed, resources; the HPA is the runbook's §2.4; selectors, ports, volumes and
  secret paths agree with each other and with the image's entrypoint.
"""
import copy
import json
import os
import shutil
import subprocess
import sys

import jsonschema
import kubernetes_validate
import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BASE = os.path.join(ROOT, "deploy", "kubernetes")
KUBERNETES_VERSION = os.environ.get("ISPC_KUBERNETES_VERSION", "1.30.0")
SCHEMAS = {("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor-monitoring.coreos.com-v1.json"}

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
    return condition


def load_all(path):
    with open(path) as file:
        return [doc for doc in yaml.safe_load_all(file) if doc is not None]


def render_here(kustomization):
    """The kustomization's resources with its namespace, labels and images applied: the subset of
    kustomize this base uses (each field used is handled, any other field is refused)."""
    known = {"apiVersion", "kind", "namespace", "labels", "resources", "images"}
    check(set(kustomization) <= known, f"kustomization.yaml uses {sorted(set(kustomization) - known)}, which this check does not render")
    objects = []
    for resource in kustomization["resources"]:
        for obj in load_all(os.path.join(BASE, resource)):
            obj = copy.deepcopy(obj)
            metadata = obj.setdefault("metadata", {})
            if obj["kind"] != "Namespace" and "namespace" in kustomization:
                metadata["namespace"] = kustomization["namespace"]
            for entry in kustomization.get("labels", []):
                check(not entry.get("includeSelectors") and not entry.get("includeTemplates"),
                      "labels with includeSelectors/includeTemplates are not rendered here")
                metadata.setdefault("labels", {}).update(entry["pairs"])
            for container in obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
                for image in kustomization.get("images", []):
                    if container["image"].split(":")[0] == image["name"]:
                        container["image"] = f'{image.get("newName", image["name"])}:{image["newTag"]}'
            objects.append(obj)
    return objects


def key(obj):
    return (obj["kind"], obj["metadata"]["name"])


def validate(obj):
    """The validation errors of one object (an empty list when it is valid)."""
    schema_file = SCHEMAS.get((obj["apiVersion"], obj["kind"]))
    if schema_file:
        with open(os.path.join(BASE, "schemas", schema_file)) as file:
            schema = json.load(file)
        return [f"{'.'.join(map(str, error.absolute_path))}: {error.message}"
                for error in jsonschema.Draft7Validator(schema).iter_errors(obj)]
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        return []
    except kubernetes_validate.SchemaNotFoundError:
        return [f"no schema for {obj['apiVersion']} {obj['kind']} (add one under deploy/kubernetes/schemas/)"]
    except kubernetes_validate.ValidationError as error:
        return [f"{'.'.join(map(str, error.path))}: {error.message}"]


def main():
    with open(os.path.join(BASE, "kustomization.yaml")) as file:
        kustomization = yaml.safe_load(file)

    # The resources list: every manifest of the folder, and nothing else.
    manifests = sorted(name for name in os.listdir(BASE) if name.endswith(".yaml") and name != "kustomization.yaml")
    check(sorted(kustomization["resources"]) == manifests,
          f"kustomization.yaml's resources {sorted(kustomization['resources'])} are not the folder's manifests {manifests}")
    objects = render_here(kustomization)
    renderer = "this script's reading of kustomization.yaml"
    kubectl = shutil.which("kubectl")
    if kubectl:
        built = subprocess.run([kubectl, "kustomize", BASE], capture_output=True, text=True)
        if check(built.returncode == 0, f"kubectl kustomize failed: {built.stderr}"):
            rendered = [doc for doc in yaml.safe_load_all(built.stdout) if doc is not None]
            check(sorted(map(key, rendered)) == sorted(map(key, objects)), "kubectl kustomize renders other objects")
            for obj in rendered:
                mine = next((o for o in objects if key(o) == key(obj)), None)
                check(mine == obj, f"{key(obj)}: kubectl kustomize and this script render it differently")
            objects = rendered
            renderer = "kubectl kustomize"
    else:
        print("check-kubernetes: kubectl not on PATH: rendered from kustomization.yaml's resources list by this script")

    # Every object valid for the API; each validator refuses an unknown field.
    for obj in objects:
        for error in validate(obj):
            failures.append(f"{obj['kind']}/{obj['metadata']['name']}: {error}")
    by_kind = {obj["kind"]: obj for obj in objects}
    for kind, path in [("Deployment", ("spec", "template", "spec")), ("ServiceMonitor", ("spec",))]:
        mutant = copy.deepcopy(by_kind[kind])
        node = mutant
        for step in path:
            node = node[step]
        node["replicaCount"] = 2
        check(validate(mutant) != [], f"the {kind} validator passed an unknown field (spec…replicaCount)")

    deployment, service = by_kind["Deployment"], by_kind["Service"]
    pod = deployment["spec"]["template"]["spec"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    containers = pod["containers"]
    check(len(containers) == 1, "one container")
    container = containers[0]
    security = container["securityContext"]
    check(pod["securityContext"].get("runAsNonRoot") is True and pod["securityContext"].get("runAsUser") == 10001,
          "the pod runs as the image's user 10001, never root")
    check(security.get("readOnlyRootFilesystem") is True, "read-only root filesystem")
    check(security.get("capabilities") == {"drop": ["ALL"], "add": ["NET_RAW"]}, "capabilities: drop ALL, add NET_RAW only")
    check(security.get("privileged") is False, "not privileged")
    check(security.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation false (no_new_privs)")
    check(pod.get("automountServiceAccountToken") is False, "no service account token")
    check(container["livenessProbe"]["httpGet"]["path"] == "/health", "liveness on /health")
    check(container["readinessProbe"]["httpGet"]["path"] == "/health/detailed", "readiness on /health/detailed")
    resources = container.get("resources", {})
    check(resources.get("requests", {}).keys() >= {"cpu", "memory"} and resources.get("limits", {}).keys() >= {"cpu", "memory"},
          "cpu and memory requests (the HPA's utilisation is against them) and limits")
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    check(ports == {"http": 9464}, f"the container serves http on 9464: {ports}")

    # Selectors and names agree.
    selects = lambda selector: all(pod_labels.get(k) == v for k, v in selector["matchLabels"].items())
    check(selects(deployment["spec"]["selector"]), "the Deployment's selector matches its pods")
    check(all(pod_labels.get(k) == v for k, v in service["spec"]["selector"].items()), "the Service selects the pods")
    check([p["targetPort"] for p in service["spec"]["ports"]] == ["http"], "the Service targets the container's http port")
    monitor = by_kind["ServiceMonitor"]
    check(all(service["metadata"]["labels"].get(k) == v for k, v in monitor["spec"]["selector"]["matchLabels"].items()),
          "the ServiceMonitor selects the Service")
    check([e["port"] for e in monitor["spec"]["endpoints"]] == [p["name"] for p in service["spec"]["ports"]] and
          monitor["spec"]["endpoints"][0]["path"] == "/metrics", "the ServiceMonitor scrapes the Service's http port at /metrics")
    check(selects(by_kind["PodDisruptionBudget"]["spec"]["selector"]), "the PodDisruptionBudget covers the pods")
    namespaces = {obj["metadata"].get("namespace") for obj in objects if obj["kind"] != "Namespace"}
    check(namespaces == {by_kind["Namespace"]["metadata"]["name"]}, f"every object in the base's namespace: {namespaces}")

    # The runbook's HPA (isp-health-checker-runbook.md §2.4), field for field.
    hpa = by_kind["HorizontalPodAutoscaler"]
    runbook_spec = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "isp-checker-backend"},
        "minReplicas": 2, "maxReplicas": 10,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
                    {"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 80}}}],
        "behavior": {"scaleUp": {"stabilizationWindowSeconds": 60, "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]},
                     "scaleDown": {"stabilizationWindowSeconds": 300, "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}]}}}
    check(hpa["metadata"]["name"] == "isp-checker-backend-hpa" and hpa["spec"] == runbook_spec, "the HPA is the runbook's §2.4")
    check(hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"], "the HPA scales the Deployment")

    # The config where the entrypoint reads it; its secret files in the Secret's mount.
    mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    config_map, secret = by_kind["ConfigMap"], by_kind["Secret"]
    check(volumes["config"]["configMap"]["name"] == config_map["metadata"]["name"] and mounts["config"] == "/etc/isp-checker"
          and "checker.yaml" in config_map["data"], "the ConfigMap's checker.yaml at /etc/isp-checker/checker.yaml (the image's entrypoint)")
    config = yaml.safe_load(config_map["data"]["checker.yaml"])
    secret_files = {f'{mounts["secrets"]}/{name}' for name in secret["stringData"]}
    check(volumes["secrets"]["secret"]["secretName"] == secret["metadata"]["name"], "the Secret is mounted")
    check({config["store"]["postgres_url_file"], config["http"]["api_key_file"]} == secret_files,
          f"store.postgres_url_file and http.api_key_file are the Secret's files {sorted(secret_files)}")
    check(config["http"]["port"] == 9464 and config["http"]["host"] == "0.0.0.0", "the monitor listens on the pod's address, port 9464")
    check(os.path.dirname(config["store"]["spool"]) == mounts["state"] and "emptyDir" in volumes["state"],
          "the spool on the writable emptyDir")
    check(all("REPLACE" in value for value in secret["stringData"].values()), "the Secret holds placeholders only")

    if failures:
        print("check-kubernetes: FAILED", file=sys.stderr)
        for failure in failures:
            print("  - " + failure, file=sys.stderr)
        return 1
    print(f"check-kubernetes: {len(objects)} objects rendered by {renderer}, valid for Kubernetes {KUBERNETES_VERSION} "
          f"(kubernetes-validate {kubernetes_validate.__version__ if hasattr(kubernetes_validate, '__version__') else ''}, strict) "
          f"and the ServiceMonitor schema; policy checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
