#!/usr/bin/env bash
# Service probes next to prometheus-blackbox-exporter: the same lab HTTPS and DNS targets,
# probed one at a time by each tool in the same run. See docs/benchmarks.md ("Service probes").
#
#   sudo bash Benchmarks/service-probes/run.sh
#
# Needs: root, lab/lab.sh, the release CLI (scripts/build-release.sh),
# dnsmasq, nginx, openssl, curl, prometheus-blackbox-exporter, python3 (standard library).
# Every packet stays inside the lab's namespaces (prefix ispc-tsvbench) or their loopback; the
# servers, the exporter and the lab are torn down on exit, whatever happens.
#
# Targets, in the destination namespace: nginx on https://10.77.128.1/ (self-signed, trusted
# through its own certificate as CA) and dnsmasq on 10.77.128.1:53 answering www.lab A.
# Tools, run from the client namespace, N probes each, sequentially:
#   baseline     HTTPS: python http.client + ssl in one process (context loaded once), timed
#                around connect..close; also `curl -w %{time_total}` per probe (own process)
#                for reference. DNS: a prebuilt query over a UDP
#                socket in python, timed around send/recv (the least any client can take)
#   isp-checker  `isp-checker http|dns --targets FILE --concurrency 1 --json` with N lines:
#                its reported total_ms / latency_ms, and CPU (user+sys of the process, /N)
#   blackbox     the exporter's /probe endpoint, N requests from one python client: its
#                probe_duration_seconds, and CPU (utime+stime delta of the exporter, /N)
# Knobs: N [300], ISP_CHECKER [.build/release/isp-checker], OUT [a new temp dir].
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LAB=$ROOT/lab/lab.sh
PREFIX=ispc-tsvbench
C=$PREFIX-c
D=$PREFIX-d
ADDR=10.77.128.1
N=${N:-300}
ISP_CHECKER=${ISP_CHECKER:-$ROOT/.build/release/isp-checker}
OUT=${OUT:-$(mktemp -d /tmp/ispc-svbench.XXXXXX)}
mkdir -p "$OUT"

[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 1; }
[[ -x $ISP_CHECKER ]] || { echo "build it first: bash scripts/build-release.sh" >&2; exit 1; }

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    bash "$LAB" down --prefix "$PREFIX" >/dev/null 2>&1 || true
}
trap cleanup EXIT

bash "$LAB" up --prefix "$PREFIX" --routers 1 >/dev/null
ip netns exec "$D" ip addr add "$ADDR/32" dev lo

# Servers.
printf '10.1.2.3 www.lab\n' > "$OUT/hosts"
ip netns exec "$D" dnsmasq --keep-in-foreground --no-resolv --no-hosts --addn-hosts="$OUT/hosts" \
    --listen-address="$ADDR" --bind-interfaces --local=/lab/ --user=root --pid-file="$OUT/dnsmasq.pid" \
    --log-facility="$OUT/dnsmasq.log" &
pids+=($!)
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$OUT/key.pem" -out "$OUT/cert.pem" -days 30 \
    -subj /CN=web.lab -addext "subjectAltName=IP:$ADDR" 2>/dev/null
mkdir -p "$OUT/www" "$OUT/tmp"
echo "hello from the lab" > "$OUT/www/index.html"
cat > "$OUT/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1;
pid $OUT/nginx.pid; error_log $OUT/nginx-error.log;
events { worker_connections 256; }
http {
  access_log off; ssl_protocols TLSv1.2 TLSv1.3;
  client_body_temp_path $OUT/tmp; proxy_temp_path $OUT/tmp; fastcgi_temp_path $OUT/tmp;
  uwsgi_temp_path $OUT/tmp; scgi_temp_path $OUT/tmp;
  server { listen $ADDR:443 ssl; ssl_certificate $OUT/cert.pem; ssl_certificate_key $OUT/key.pem; root $OUT/www; }
}
CONF
ip netns exec "$D" nginx -c "$OUT/nginx.conf" -e "$OUT/nginx-error.log" &
pids+=($!)

# The exporter, on the client namespace's loopback.
cat > "$OUT/blackbox.yml" <<CONF
modules:
  http_lab:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
      tls_config:
        ca_file: $OUT/cert.pem
  dns_lab:
    prober: dns
    timeout: 5s
    dns:
      query_name: www.lab
      query_type: A
      transport_protocol: udp
      preferred_ip_protocol: ip4
CONF
ip netns exec "$C" prometheus-blackbox-exporter --config.file="$OUT/blackbox.yml" \
    --web.listen-address=127.0.0.1:9115 --log.level=warn >"$OUT/blackbox.log" 2>&1 &
pids+=($!)
BLACKBOX_PID=$!

for _ in $(seq 100); do
    ip netns exec "$D" ss -Hltn | grep -q "$ADDR:443 " && ip netns exec "$D" ss -Hltn | grep -q "$ADDR:53 " &&
        ip netns exec "$C" ss -Hltn | grep -q "127.0.0.1:9115 " && break
    sleep 0.1
done

for _ in $(seq "$N"); do echo "https://$ADDR/"; done > "$OUT/urls.txt"
for _ in $(seq "$N"); do echo "www.lab"; done > "$OUT/names.txt"

ip netns exec "$C" python3 "$HERE/measure.py" --n "$N" --addr "$ADDR" --cli "$ISP_CHECKER" --cert "$OUT/cert.pem" \
    --urls "$OUT/urls.txt" --names "$OUT/names.txt" --blackbox-pid "$BLACKBOX_PID" --out "$OUT" | tee "$OUT/summary.txt"
echo "raw data in $OUT"
