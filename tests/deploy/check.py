#!/usr/bin/env python3
"""Checks the deployment files without a cluster: the Helm chart (YAML, values against
values.schema.json, every `.Values.…` a template reads is defined, balanced template
delimiters, conventional labels), the Dockerfile (multi-stage, non-root, health check, no
`latest`, lean apt layers) and docker-compose.yml. Where `helm` is installed it also runs
`helm lint` and `helm template`, and validates the rendered manifests with `kubernetes-validate`
when that is installed. Prints each problem; exits 1 if there is any."""

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import jsonschema
import yaml

ROOT = pathlib.Path(os.environ.get("DVC_DEPLOY_ROOT") or pathlib.Path(__file__).resolve().parents[2])
CHART = ROOT / "charts" / "dvc"
problems = []


def problem(msg):
    problems.append(msg)


def lookup(values, path):
    node = values
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def check_chart():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    for key in ("apiVersion", "name", "version", "appVersion"):
        if key not in chart:
            problem(f"Chart.yaml: missing {key}")
    if chart.get("apiVersion") != "v2":
        problem("Chart.yaml: apiVersion must be v2")
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    for err in jsonschema.Draft7Validator(schema).iter_errors(values):
        problem(f"values.yaml: {'/'.join(map(str, err.path))}: {err.message}")
    # The schema must refuse what it is there to refuse.
    for bad in (
        {"image": {"pullPolicy": "Sometimes"}},
        {"config": {"baseDomain": "Not A Host"}},
        {"securityContext": {"allowPrivilegeEscalation": True}},
        {"unknownKey": 1},
    ):
        merged = json.loads(json.dumps(values))
        for k, v in bad.items():
            if isinstance(v, dict) and isinstance(merged.get(k), dict):
                merged[k].update(v)
            else:
                merged[k] = v
        if jsonschema.Draft7Validator(schema).is_valid(merged):
            problem(f"values.schema.json accepts {bad}")
    templates = sorted((CHART / "templates").glob("*"))
    kinds = set()
    for t in templates:
        text = t.read_text()
        if text.count("{{") != text.count("}}"):
            problem(f"{t.name}: unbalanced template delimiters")
        for m in re.finditer(r"\.Values((?:\.[A-Za-z0-9_]+)+)", text):
            path = m.group(1).strip(".").split(".")
            if not lookup(values, path):
                problem(f"{t.name}: .Values.{'.'.join(path)} is not defined in values.yaml")
        kinds.update(re.findall(r"^kind: (\w+)", text, re.M))
        if t.suffix == ".yaml" and "kind:" in text and "dvc.labels" not in text:
            problem(f"{t.name}: no app.kubernetes.io labels")
    for needed in (
        "Deployment", "Service", "Ingress", "ConfigMap", "Secret", "Job",
        "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor",
    ):
        if needed not in kinds:
            problem(f"chart: no {needed}")
    if not (CHART / "templates" / "NOTES.txt").exists():
        problem("chart: no NOTES.txt")
    job = (CHART / "templates" / "job-migrate.yaml").read_text()
    if "pre-install,pre-upgrade" not in job or '"migrate"' not in job:
        problem("job-migrate.yaml: must run `dvc migrate` as a pre-install/pre-upgrade hook")
    web = (CHART / "templates" / "deployment-web.yaml").read_text()
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        if not re.search(probe + r":\s*\n\s*httpGet: \{path: " + re.escape(path), web):
            problem(f"deployment-web.yaml: {probe} must GET {path}")
    sc = values.get("securityContext", {})
    if sc.get("readOnlyRootFilesystem") is not True or sc.get("allowPrivilegeEscalation") is not False:
        problem("values.yaml: containers must run read-only without privilege escalation")
    if values.get("podSecurityContext", {}).get("runAsNonRoot") is not True:
        problem("values.yaml: pods must run as non-root")


def check_dockerfile():
    text = (ROOT / "Dockerfile").read_text()
    lines = [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]
    froms = [l for l in lines if l.upper().startswith("FROM ")]
    if len(froms) < 2:
        problem("Dockerfile: not multi-stage")
    for f in froms:
        image = f.split()[1]
        if image == "scratch":
            continue
        if ":" not in image or image.endswith(":latest"):
            problem(f"Dockerfile: unpinned base image {image}")
    users = [l for l in lines if l.upper().startswith("USER ")]
    if not users or users[-1].split()[1].split(":")[0] in ("root", "0"):
        problem("Dockerfile: the final stage must run as a non-root USER")
    if not any(l.upper().startswith("HEALTHCHECK ") for l in lines):
        problem("Dockerfile: no HEALTHCHECK")
    for l in lines:
        if "apt-get install" in l and "--no-install-recommends" not in l:
            problem("Dockerfile: apt-get install without --no-install-recommends")
    if text.count("apt-get update") != text.count("rm -rf /var/lib/apt/lists/*"):
        problem("Dockerfile: apt lists not removed in the layer that fetched them")
    if re.search(r"(?i)(password|secret|master_key)\s*=", text):
        problem("Dockerfile: a secret is baked into the image")
    ignore = (ROOT / ".dockerignore").read_text().split()
    for must in ("target", ".git", ".dev"):
        if must not in ignore:
            problem(f".dockerignore: {must} is not ignored")


def check_compose():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose.get("services", {})
    for name in ("postgres", "redis", "mailpit", "web", "worker"):
        if name not in services:
            problem(f"docker-compose.yml: no {name} service")
    for name, svc in services.items():
        if "image" not in svc and "build" not in svc:
            problem(f"docker-compose.yml: {name} has neither image nor build")


def check_with_helm():
    helm = shutil.which("helm")
    if not helm:
        print("helm not installed: lint and render skipped")
        return
    for cmd in ([helm, "lint", str(CHART)], [helm, "template", "t", str(CHART)]):
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            problem(f"{' '.join(cmd[1:2])}: {out.stderr or out.stdout}")
            return
    validator = shutil.which("kubernetes-validate")
    if validator:
        rendered = subprocess.run([helm, "template", "t", str(CHART)], capture_output=True, text=True).stdout
        out = subprocess.run([validator, "--strict", "-"], input=rendered, capture_output=True, text=True)
        if out.returncode != 0:
            problem(f"kubernetes-validate: {out.stdout}{out.stderr}")


check_chart()
check_dockerfile()
check_compose()
check_with_helm()
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
