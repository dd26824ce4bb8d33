/// Inputs for the importer tests. RIPE Atlas results are written to the documented result
/// format (https://atlas.ripe.net/docs/apis/result-format/); the mtr and scamper ones are
/// lines that mtr 0.95 and scamper 20211212 wrote in the lab (Tests/LabTests/ImportLabTests.swift
/// makes fresh ones with the tools themselves).
enum ImportFixtures {
    /// IPv4 ICMP Paris traceroute from probe 6001: hop 2 inside an MPLS tunnel (a two-label
    /// stack in an RFC 4950 extension) with one probe lost, hop 3 silent, the destination at
    /// hop 4 with a duplicate reply.
    static let atlasTraceV4 = """
        {"af":4,"dst_addr":"192.0.2.80","dst_name":"example.net","endtime":1796500010,"from":"198.51.100.7","fw":5080,"lts":12,
         "msm_id":1000001,"msm_name":"Traceroute","paris_id":3,"prb_id":6001,"proto":"ICMP",
         "result":[
          {"hop":1,"result":[{"from":"192.168.1.1","rtt":0.9,"size":68,"ttl":64},{"from":"192.168.1.1","rtt":1.1,"size":68,"ttl":64},{"from":"192.168.1.1","rtt":1.0,"size":68,"ttl":64}]},
          {"hop":2,"result":[{"x":"*"},
            {"from":"203.0.113.1","rtt":5.2,"size":140,"ttl":253,"icmpext":{"version":2,"rfc4884":1,"obj":[{"class":1,"type":1,"mpls":[{"exp":0,"label":24001,"s":0,"ttl":1},{"exp":5,"label":16005,"s":1,"ttl":1}]}]}},
            {"from":"203.0.113.1","rtt":5.4,"size":140,"ttl":253,"icmpext":{"version":2,"rfc4884":1,"obj":[{"class":1,"type":1,"mpls":[{"exp":0,"label":24001,"s":0,"ttl":1},{"exp":5,"label":16005,"s":1,"ttl":1}]}]}}]},
          {"hop":3,"result":[{"x":"*"},{"x":"*"},{"x":"*"}]},
          {"hop":4,"result":[{"from":"192.0.2.80","rtt":12.1,"size":48,"ttl":60},{"from":"192.0.2.80","rtt":12.3,"size":48,"ttl":60},{"from":"192.0.2.80","rtt":12.0,"size":48,"ttl":60},{"from":"192.0.2.80","rtt":13.0,"size":48,"ttl":60,"dup":true}]}
         ],"size":48,"src_addr":"192.168.1.10","timestamp":1796500000,"type":"traceroute"}
        """

    /// IPv6 UDP traceroute from probe 6002: hop 2 answers "administratively prohibited" (err "A").
    static let atlasTraceV6 = """
        {"af":6,"dst_addr":"2001:db8::80","dst_name":"2001:db8::80","endtime":1796500104,"from":"2001:db8:ffff::7","fw":5080,"msm_id":1000002,
         "paris_id":0,"prb_id":6002,"proto":"UDP",
         "result":[
          {"hop":1,"result":[{"from":"2001:db8:1::1","rtt":1.0,"size":96,"ttl":64},{"from":"2001:db8:1::1","rtt":1.2,"size":96,"ttl":64},{"x":"*"}]},
          {"hop":2,"result":[{"from":"2001:db8:2::1","rtt":3.0,"size":96,"ttl":63,"err":"A"},{"from":"2001:db8:2::1","rtt":3.1,"size":96,"ttl":63,"err":"A"},{"from":"2001:db8:2::1","rtt":3.2,"size":96,"ttl":63,"err":"A"}]}
         ],"size":48,"src_addr":"2001:db8:1::10","timestamp":1796500100,"type":"traceroute"}
        """

    /// IPv4 ping from probe 6001 to the traceroute's destination: 2 of 3 replies.
    static let atlasPingV4 = """
        {"af":4,"avg":10.5,"dst_addr":"192.0.2.80","dst_name":"example.net","dup":0,"from":"198.51.100.7","fw":5080,"lts":30,"max":11.0,"min":10.0,
         "msm_id":1000003,"prb_id":6001,"proto":"ICMP","rcvd":2,"result":[{"rtt":10.0},{"x":"*"},{"rtt":11.0}],"sent":3,"size":48,
         "src_addr":"192.168.1.10","step":240,"timestamp":1796500200,"ttl":60,"type":"ping"}
        """

    /// IPv6 ping from probe 6003, every reply back; one packet could not be sent.
    static let atlasPingV6 = """
        {"af":6,"avg":20.25,"dst_addr":"2001:db8::53","dst_name":"2001:db8::53","dup":0,"from":"2001:db8:ffff::9","fw":4790,"lts":-1,"max":20.5,"min":20.0,
         "msm_id":1000004,"prb_id":6003,"proto":"ICMP","rcvd":2,"result":[{"rtt":20.0,"ttl":55},{"error":"sendto failed: No route to host"},{"rtt":20.5,"ttl":55}],
         "sent":3,"size":64,"src_addr":"2001:db8:3::10","step":240,"timestamp":1796500300,"ttl":55,"type":"ping"}
        """

    /// mtr 0.95 `--json` through the lab, hop 1 silent (`???`).
    static let mtrJSON = """
        {
            "report": {
                "mtr": {"src": "vm", "dst": "10.99.4.2", "tos": 0, "tests": 5, "psize": "64", "bitpattern": "0x00"},
                "hubs": [
                    {"count": 1, "host": "???", "Loss%": 100.0, "Snt": 5, "Last": 0.0, "Avg": 0.0, "Best": 0.0, "Wrst": 0.0, "StDev": 0.0},
                    {"count": 2, "host": "10.99.2.2", "Loss%": 0.0, "Snt": 5, "Last": 0.078, "Avg": 0.081, "Best": 0.076, "Wrst": 0.105, "StDev": 0.012},
                    {"count": 3, "host": "router3.lab (10.99.3.2)", "Loss%": 40.0, "Snt": 5, "Last": 0.087, "Avg": 0.087, "Best": 0.087, "Wrst": 0.09, "StDev": 0.001},
                    {"count": 4, "host": "10.99.4.2", "Loss%": 20.0, "Snt": 5, "Last": 0.089, "Avg": 0.089, "Best": 0.089, "Wrst": 0.089, "StDev": 0.0}
                ]
            }
        }
        """

    /// mtr 0.95 `--csv` over IPv6.
    static let mtrCSV = """
        Mtr_Version,Start_Time,Status,Host,Hop,Ip,Loss%,Snt, ,Last,Avg,Best,Wrst,StDev,
        MTR.0.95,1796587889,OK,fd00:99:4::2,1,???,100.00,3,3,0.00,0.00,0.00,0.00,0.00
        MTR.0.95,1796587889,OK,fd00:99:4::2,2,fd00:99:2::2,0.00,3,0,0.10,0.10,0.10,0.10,0.00
        MTR.0.95,1796587889,OK,fd00:99:4::2,3,fd00:99:3::2,66.67,3,2,0.11,0.11,0.11,0.11,0.00
        MTR.0.95,1796587889,OK,fd00:99:4::2,4,fd00:99:4::2,33.33,3,1,0.10,0.10,0.10,0.10,0.00

        """

    /// scamper 20211212 (`-O json`): a cycle, an ICMP Paris trace whose TTL 4 never answered,
    /// and a ping of 10 with 5 replies.
    static let scamper = """
        {"type":"cycle-start", "list_name":"default", "id":0, "hostname":"vm", "start_time":1796587904}
        {"type":"trace","version":"0.1", "userid":0, "method":"icmp-echo-paris", "src":"10.99.1.1", "dst":"10.99.4.2", "icmp_sum":63977, "stop_reason":"COMPLETED", "stop_data":0, "start":{"sec":1796587904, "usec":55033, "ftime":"2026-12-06 20:11:44"}, "hop_count":5, "attempts":3, "hoplimit":0, "firsthop":1, "wait":5, "wait_probe":0, "tos":0, "probe_size":44, "probe_count":8, "hops":[{"addr":"10.99.1.2", "probe_ttl":1, "probe_id":1, "probe_size":44, "tx":{"sec":1796587904, "usec":55137}, "rtt":0.048, "reply_ttl":64, "reply_tos":192, "reply_ipid":9428, "reply_size":72, "icmp_type":11, "icmp_code":0, "icmp_q_ttl":1, "icmp_q_ipl":44, "icmp_q_tos":0},{"addr":"10.99.2.2", "probe_ttl":2, "probe_id":1, "probe_size":44, "tx":{"sec":1796587904, "usec":105384}, "rtt":0.062, "reply_ttl":63, "reply_tos":192, "reply_ipid":42130, "reply_size":72, "icmp_type":11, "icmp_code":0, "icmp_q_ttl":1, "icmp_q_ipl":44, "icmp_q_tos":0, "icmpext":[{"ie_cn":1,"ie_ct":1,"ie_dl":4,"mpls_labels":[{"mpls_ttl":1,"mpls_s":1,"mpls_exp":0,"mpls_label":299792}]}]},{"addr":"10.99.3.2", "probe_ttl":3, "probe_id":1, "probe_size":44, "tx":{"sec":1796587904, "usec":155659}, "rtt":0.074, "reply_ttl":62, "reply_tos":192, "reply_ipid":1319, "reply_size":72, "icmp_type":11, "icmp_code":0, "icmp_q_ttl":1, "icmp_q_ipl":44, "icmp_q_tos":0},{"addr":"10.99.4.2", "probe_ttl":5, "probe_id":2, "probe_size":44, "tx":{"sec":1796587924, "usec":220698}, "rtt":0.070, "reply_ttl":61, "reply_tos":0, "reply_ipid":38972, "reply_size":44, "icmp_type":0, "icmp_code":0}]}
        {"type":"cycle-stop", "list_name":"default", "id":0, "hostname":"vm", "stop_time":1796587924}
        {"type":"ping", "version":"0.4", "method":"icmp-echo", "src":"10.99.1.1", "dst":"10.99.4.2", "start":{"sec":1796587924,"usec":495136}, "ping_sent":10, "probe_size":84, "userid":0, "ttl":64, "wait":1, "timeout":1, "responses":[{"from":"10.99.4.2", "seq":2, "reply_size":84, "reply_ttl":61, "reply_proto":"icmp", "tx":{"sec":1796587926, "usec":495586}, "rx":{"sec":1796587926, "usec":495658}, "rtt":0.072, "probe_ipid":27222, "reply_ipid":39327, "icmp_type":0, "icmp_code":0},{"from":"10.99.4.2", "seq":4, "reply_size":84, "reply_ttl":61, "reply_proto":"icmp", "rtt":0.072, "icmp_type":0, "icmp_code":0},{"from":"10.99.4.2", "seq":5, "reply_ttl":61, "rtt":0.077, "icmp_type":0, "icmp_code":0},{"from":"10.99.4.2", "seq":8, "reply_ttl":61, "rtt":0.070, "icmp_type":0, "icmp_code":0},{"from":"10.99.4.2", "seq":9, "reply_ttl":61, "rtt":0.081, "icmp_type":0, "icmp_code":0}],"statistics":{"replies":5, "loss":0.50, "min":0.070, "max":0.081, "avg":0.074, "stddev":0.004}}

        """

    static var atlasDownload: String { "[" + [atlasTraceV4, atlasPingV4, atlasTraceV6, atlasPingV6].joined(separator: ",") + "]" }

    /// Every valid input, with its format.
    static var all: [(name: String, text: String)] {
        [("atlas-trace-v4", atlasTraceV4), ("atlas-trace-v6", atlasTraceV6), ("atlas-ping-v4", atlasPingV4), ("atlas-ping-v6", atlasPingV6),
         ("atlas-download", atlasDownload), ("mtr-json", mtrJSON), ("mtr-csv", mtrCSV), ("scamper", scamper)]
    }
}
