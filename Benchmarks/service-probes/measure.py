"""Runs inside the client namespace: baseline, isp-checker and blackbox_exporter, N probes each.

Prints one table: per tool and probe kind, the median and p90 probe duration the tool itself
reports, the median overhead over the baseline, and CPU time per probe.
"""
import argparse, json, os, re, resource, socket, statistics, struct, subprocess, time, urllib.request

p = argparse.ArgumentParser()
for name in ["n", "addr", "cli", "cert", "urls", "names", "blackbox-pid", "out"]:
    p.add_argument("--" + name, required=True)
a = p.parse_args()
N = int(a.n)
TICK = os.sysconf("SC_CLK_TCK")


def cpu_of(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime, seconds


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


rows = []


def row(tool, kind, durations_ms, cpu_s, baseline=None):
    med = statistics.median(durations_ms)
    rows.append((tool, kind, med, pct(durations_ms, 0.9), None if baseline is None else med - baseline, cpu_s / N * 1000))
    return med


# --- baselines -------------------------------------------------------------------------------
def dns_query(qid):
    header = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    question = b"".join(bytes([len(l)]) + l.encode() for l in "www.lab".split(".")) + b"\x00" + struct.pack(">HH", 1, 1)
    return header + question


def baseline_dns():
    out = []
    for i in range(N):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect((a.addr, 53))
        q = dns_query(i & 0xFFFF)
        t0 = time.perf_counter_ns()
        s.send(q)
        s.recv(4096)
        out.append((time.perf_counter_ns() - t0) / 1e6)
        s.close()
    return out


def baseline_http():
    out = []
    before = children_cpu()
    for _ in range(N):
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "--cacert", a.cert, "-w", "%{time_total}", f"https://{a.addr}/"],
                           capture_output=True, text=True, check=True)
        out.append(float(r.stdout) * 1000)
    return out, children_cpu() - before


def baseline_https_python():
    """One process, TLS context loaded once: connect, handshake, GET, read, close per probe."""
    import http.client, ssl
    context = ssl.create_default_context(cafile=a.cert)
    out = []
    for _ in range(N):
        t0 = time.perf_counter_ns()
        conn = http.client.HTTPSConnection(a.addr, 443, context=context, timeout=10)
        conn.request("GET", "/")
        conn.getresponse().read()
        conn.close()
        out.append((time.perf_counter_ns() - t0) / 1e6)
    return out


dns_base = baseline_dns()
py_https = baseline_https_python()
http_base, http_base_cpu = baseline_http()
dns_b = row("baseline (python UDP socket)", "dns", dns_base, 0)
http_b = row("baseline (python ssl, one process)", "https", py_https, 0)
row("curl CLI (-w time_total, own process)", "https", http_base, http_base_cpu, http_b)


# --- isp-checker -----------------------------------------------------------------------------
def isp(args, key):
    before = children_cpu()
    t0 = time.perf_counter()
    r = subprocess.run([a.cli] + args + ["--concurrency", "1", "--json"], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    cpu = children_cpu() - before
    results = json.loads(r.stdout)["results"]
    bad = [x for x in results if not x.get("report") or x["report"]["status"] == "crit"]
    assert not bad, bad[:1]
    return [x["report"]["details"][key] for x in results], cpu, wall


d, cpu, wall_dns = isp(["dns", "--targets", a.names, "-r", a.addr], "latency_ms")
row("isp-checker", "dns", d, cpu, dns_b)
h, cpu, wall_http = isp(["http", "--targets", a.urls, "--cacert", a.cert], "total_ms")
row("isp-checker", "https", h, cpu, http_b)


# --- blackbox_exporter -----------------------------------------------------------------------
def blackbox(module, target):
    out = []
    pid = int(a.blackbox_pid)
    before = cpu_of(pid)
    for _ in range(N):
        url = f"http://127.0.0.1:9115/probe?module={module}&target={target}"
        body = urllib.request.urlopen(url, timeout=10).read().decode()
        assert re.search(r"^probe_success 1$", body, re.M), body
        out.append(float(re.search(r"^probe_duration_seconds (\S+)$", body, re.M).group(1)) * 1000)
    return out, cpu_of(pid) - before


d, cpu = blackbox("dns_lab", f"{a.addr}:53")
row("blackbox_exporter", "dns", d, cpu, dns_b)
h, cpu = blackbox("http_lab", f"https://{a.addr}/")
row("blackbox_exporter", "https", h, cpu, http_b)

print(f"load average before: {open('/proc/loadavg').read().split()[:3]}")
print(f"N = {N} probes per tool and kind, sequential; milliseconds")
print(f"{'tool':36} {'probe':6} {'p50':>8} {'p90':>8} {'p50-base':>9} {'CPU/probe':>10}")
for tool, kind, med, p90, over, cpu in rows:
    print(f"{tool:36} {kind:6} {med:8.3f} {p90:8.3f} {'' if over is None else f'{over:9.3f}':>9} {cpu:10.3f}")
print(f"isp-checker wall per probe incl. process start amortized: dns {wall_dns / N * 1000:.3f} ms, https {wall_http / N * 1000:.3f} ms")
json.dump({"rows": rows, "dns_base": dns_base, "http_base": http_base}, open(os.path.join(a.out, "data.json"), "w"))
