#!/usr/bin/env bash
# Runs the container image scripts/image.sh builds, as a container runtime would run it, in a
# lab: no runtime can start containers on these machines (crun is refused setrlimit and
# cgroups), so the image's own root, unpacked from the OCI archive, is entered with
# `unshare --mount --pid --fork` + chroot inside the lab's client namespace. The client's veth
# has checksum offload on (lab.sh --realistic), as a container's veth does.
#
# As in a Kubernetes pod with runAsUser 10001, readOnlyRootFilesystem and capabilities
# drop ALL + add NET_RAW (deploy/kubernetes/deployment.yaml): the root read-only, tmpfs on /tmp
# and /var/lib/isp-checker (the pod's emptyDir), the config mounted at the entrypoint's path,
# uid/gid 10001, no supplementary groups, bounding set {CAP_NET_RAW}, no_new_privs, capabilities
# only from the binaries' file capability. Checked:
# - the archive's config: user 10001, the monitor as entrypoint, its layer's file capabilities;
# - `isp-checker run` against the lab's destination: healthy (P4, no fault, 4 hops);
# - without NET_RAW in the bounding set (capabilities drop ALL alone), the kernel refuses to
#   exec the binary (its file capability cannot be granted);
# - the entrypoint (the monitor) stores a run of the lab destination and answers /health and
#   /health/detailed; every thread of it runs as 10001 with no capability left.
#
#   sudo bash scripts/image-test.sh        # ISPC_IMAGE_LAB_PREFIX picks the lab's prefix
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=${ISPC_IMAGE_LAB_PREFIX:-ispc-image}
fail() { echo "image-test: $*" >&2; exit 1; }
command -v setpriv >/dev/null || fail "setpriv not found (apt-get install util-linux)"

archive=$(bash scripts/image.sh)
work=$(realpath "$(mktemp -d /tmp/ispc-image-test.XXXXXX)")
monitor_pid=
cleanup() {
    if [[ -n $monitor_pid ]]; then kill "$monitor_pid" 2>/dev/null || true; wait "$monitor_pid" 2>/dev/null || true; fi
    bash lab/lab.sh down --prefix "$PREFIX" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# The image as a runtime reads it: index → manifest → config and the one layer.
mkdir -p "$work/oci" "$work/root"
tar -C "$work/oci" -xf "$archive"
read -r layer entrypoint user < <(python3 - "$work/oci" <<'EOF'
import json, sys
oci = sys.argv[1]
blob = lambda digest: f"{oci}/blobs/{digest.replace(':', '/')}"
index = json.load(open(f"{oci}/index.json"))
manifest = json.load(open(blob(index["manifests"][0]["digest"])))
config = json.load(open(blob(manifest["config"]["digest"])))["config"]
assert len(manifest["layers"]) == 1, manifest["layers"]
print(blob(manifest["layers"][0]["digest"]), json.dumps(config["Entrypoint"], separators=(",", ":")), config["User"])
EOF
)
[[ $user == 10001:10001 ]] || fail "the image's user is '$user', not 10001:10001"
[[ $entrypoint == '["/usr/local/bin/isp-checker-monitor","--config","/etc/isp-checker/checker.yaml"]' ]] ||
    fail "the image's entrypoint is $entrypoint"
tar --xattrs --xattrs-include='security.capability' --numeric-owner -C "$work/root" -xzf "$layer"
root=$work/root
for binary in isp-checker isp-checker-monitor; do
    caps=$(getcap "$root/usr/local/bin/$binary")
    [[ $caps == *"cap_net_raw=ep" ]] || fail "/usr/local/bin/$binary in the layer has '$caps', not cap_net_raw=ep"
done

bash lab/lab.sh up --prefix "$PREFIX" --routers 3 --realistic >/dev/null
destination=10.99.4.2
cat > "$work/checker.yaml" <<EOF
targets:
  - host: $destination
    class: critical
probe_intervals:
  critical_targets: 2s
store:
  sqlite: /var/lib/isp-checker/runs.sqlite
http:
  host: 0.0.0.0
  port: 9464
EOF

# Runs "$@" in the image as the pod runs its container: what runc does between the runtime's
# spec and the entrypoint's exec. setpriv comes from the host (the image has no tools), copied
# into the container's /run tmpfs and started through the image's loader; it keeps its
# permitted capabilities across the change of user (as runc applies the spec's permitted set),
# leaves the bounding set at BOUNDING (the pod's capabilities: drop ALL, add NET_RAW) and sets
# no_new_privs (allowPrivilegeEscalation: false). The kernel then grants at exec only what the
# binary's file capability names and the process already had: CAP_NET_RAW.
in_container() {
    ip netns exec "$PREFIX-c" unshare --mount --pid --fork --kill-child=SIGTERM bash -c '
        set -euo pipefail
        root=$1 config=$2 bounding=$3; shift 3
        mount --make-rprivate /
        mount --bind "$root" "$root"
        mount -o remount,bind,ro "$root"
        mount -t proc proc "$root/proc"
        mount -t sysfs -o ro sysfs "$root/sys"
        mount -t tmpfs -o mode=755 tmpfs "$root/dev"
        for node in null:1:3 zero:1:5 random:1:8 urandom:1:9; do
            IFS=: read -r name major minor <<<"$node"
            mknod -m 666 "$root/dev/$name" c "$major" "$minor"
        done
        mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
        mount -t tmpfs -o mode=755 tmpfs "$root/run"
        mount -t tmpfs -o mode=750,uid=10001,gid=10001 tmpfs "$root/var/lib/isp-checker"
        mount -t tmpfs -o mode=755 tmpfs "$root/etc/isp-checker"
        cp "$config" "$root/etc/isp-checker/checker.yaml"
        cp /usr/bin/setpriv "$(ldd /usr/bin/setpriv | awk "/libcap-ng/{print \$3}")" "$root/run/"
        exec chroot "$root" /lib64/ld-linux-x86-64.so.2 --library-path /run /run/setpriv \
            --reuid 10001 --regid 10001 --clear-groups --reset-env \
            --bounding-set "$bounding" --inh-caps -all --no-new-privs -- "$@"
    ' in-container "$root" "$work/checker.yaml" "${BOUNDING:--all,+net_raw}" "$@"
}

# 1. A run's verdict from inside the image: the lab is healthy. The realistic lab's nodes keep
# the kernel's ICMP rate limits, so a traceroute round may miss an answer (a warning, exit 1,
# diagnosed as informational rate limiting); anything worse is a failure.
status=0
report=$(in_container /usr/local/bin/isp-checker run --target "$destination" --json 2>"$work/run.err") || status=$?
[[ $status == 0 || $status == 1 ]] || fail "isp-checker run in the image exited $status: $(cat "$work/run.err")"
python3 -c '
import json, sys
report = json.loads(sys.stdin.read())
status = {p["name"]: p["status"] for p in report["probes"]}
assert report["target"] == sys.argv[1], report["target"]
assert status.get("ping") == "ok" and status.get("traceroute") in ("ok", "warn"), status
# Timed by the capture: the raw socket and libpcap were opened, so CAP_NET_RAW was granted.
assert report["probes"][0]["details"]["clock"] == "pcap", report["probes"][0]["details"]
assert report["trace"]["stop"] == "destination_reached" and len(report["trace"]["hops"]) == 4, report["trace"]
faults = [d["component"] for d in report["diagnosis"] if not d["informational"]]
assert not faults and report["severity"] == "P4", (faults, report["severity"])
score, severity = report["score"], report["severity"]
print(f"image-test: run in the image: {status}, destination reached in 4 hops, score {score}, {severity}, no fault")
' "$destination" <<<"$report" || fail "the run's report: $report"

# 2. Without NET_RAW in the pod's capabilities the kernel refuses to exec a binary whose file
# capability it cannot grant: the pod fails at start, saying so, instead of running half-blind.
status=0
BOUNDING=-all in_container /usr/local/bin/isp-checker --version >/dev/null 2>"$work/nocap.err" || status=$?
[[ $status != 0 ]] && grep -q 'Operation not permitted' "$work/nocap.err" ||
    fail "with an empty bounding set the binary started (exit $status): $(cat "$work/nocap.err")"
echo "image-test: without CAP_NET_RAW in the bounding set the kernel refuses to start the binary"

# 3. The entrypoint: the monitor, its config from the mounted path.
read -r -a command < <(python3 -c 'import json,sys; print(" ".join(json.loads(sys.argv[1])))' "$entrypoint")
in_container "${command[@]}" >"$work/monitor.out" 2>"$work/monitor.err" &
monitor_pid=$!
for _ in $(seq 1 600); do
    grep -q '^stored ' "$work/monitor.out" && break
    kill -0 "$monitor_pid" 2>/dev/null || fail "the monitor stopped: $(cat "$work/monitor.err")"
    sleep 0.1
done
grep -q '^stored ' "$work/monitor.out" || fail "the monitor stored no run in 60 s: $(cat "$work/monitor.err")"
ip netns exec "$PREFIX-c" python3 - "$destination" <<'EOF' || fail "the monitor's health endpoints (log: $(cat "$work/monitor.err"))"
import json, sys, urllib.request
health = json.load(urllib.request.urlopen("http://127.0.0.1:9464/health", timeout=5))
assert health == {"status": "ok"}, health
detailed = json.load(urllib.request.urlopen("http://127.0.0.1:9464/health/detailed", timeout=5))
assert detailed["status"] == "ok" and detailed["store"]["reachable"], detailed
assert detailed["last_run"]["target"] == sys.argv[1], detailed["last_run"]
assert detailed["circuit_breakers"] == {sys.argv[1]: "closed"}, detailed["circuit_breakers"]
print("image-test: the entrypoint stored a run of", sys.argv[1], "and answers /health and /health/detailed")
EOF
# The monitor as the pod's process, on every thread: uid 10001, CAP_NET_RAW dropped once its
# sockets are open (nothing effective or permitted), the bounding set the pod's, no_new_privs.
pid=
for candidate in $(pgrep -x isp-checker-mon); do
    [[ $(readlink "/proc/$candidate/exe") == "$root/usr/local/bin/isp-checker-monitor" ]] && pid=$candidate
done
[[ -n $pid ]] || fail "no process runs the image's isp-checker-monitor"
threads=0
for status_file in /proc/"$pid"/task/*/status; do
    fields=$(awk '/^(Uid|Gid):/{print $1 $2 "," $3 "," $4 "," $5} /^(CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs):/{print $1 $2}' "$status_file" | tr '\n' ' ')
    [[ $fields == "Uid:10001,10001,10001,10001 Gid:10001,10001,10001,10001 CapPrm:0000000000000000 CapEff:0000000000000000 CapBnd:0000000000002000 CapAmb:0000000000000000 NoNewPrivs:1 " ]] ||
        fail "monitor thread $status_file: $fields"
    threads=$((threads + 1))
done
echo "image-test: the monitor's $threads threads: uid 10001, no capability left, bounding set {CAP_NET_RAW}, no_new_privs"
kill "$monitor_pid"
status=0; wait "$monitor_pid" || status=$?
monitor_pid=
[[ $status == 0 || $status == 143 ]] || fail "the monitor exited $status on SIGTERM: $(cat "$work/monitor.err")"
echo "image-test: all good with $archive"
