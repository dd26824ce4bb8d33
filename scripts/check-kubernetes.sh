#!/usr/bin/env bash
# Validates the Kubernetes manifests of deploy/kubernetes offline (scripts/check-kubernetes.py):
# a virtualenv under .build with the pinned scripts/requirements-kubernetes.txt, made once and
# reused while that file is unchanged; the check itself fetches nothing.
#
#   bash scripts/check-kubernetes.sh
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.build/venv-kubernetes
requirements=scripts/requirements-kubernetes.txt
stamp=$(sha256sum "$requirements" | cut -c1-16)
if [[ ! -x $venv/bin/python || $(cat "$venv/.requirements" 2>/dev/null) != "$stamp" ]]; then
    rm -rf "$venv"
    python3 -m venv "$venv" || { echo "check-kubernetes: python3 -m venv failed: apt-get install python3-venv" >&2; exit 1; }
    "$venv/bin/pip" install --quiet --no-compile --disable-pip-version-check -r "$requirements"
    echo "$stamp" > "$venv/.requirements"
fi
exec "$venv/bin/python" scripts/check-kubernetes.py
