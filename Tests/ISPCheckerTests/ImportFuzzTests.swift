import Foundation
import Testing
import TestSupport
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerImport
@testable import ISPCheckerResults

/// Seeded property tests of every importer (mtr JSON and CSV, scamper JSON, RIPE Atlas JSON):
/// valid inputs with hostile values put in (numbers no Int or Double holds, negative TTLs,
/// NaN-like strings, wrong types, deep nesting), byte-level mutations of them, and random JSON
/// built from the formats' own keys. Every input must be refused with an `ImportError` (the
/// importers' typed throws) or imported: never trap. Every import must make a report inside
/// `ReportLimits`, that is, one that decodes again.
///
/// `ISPC_IMPORT_FUZZ_RUNS` inputs a format (2,000 by default), from `ISPC_IMPORT_FUZZ_SEED` (1 by
/// default); a failure names the seed and the input's number. A trap stops the test process:
/// `ISPC_IMPORT_FUZZ_TRACE=1` prints every input first, to find it.
@Suite struct ImportFuzzTests {
    static var runs: Int { ProcessInfo.processInfo.environment["ISPC_IMPORT_FUZZ_RUNS"].flatMap(Int.init) ?? 2_000 }
    static var seed: UInt64 { ProcessInfo.processInfo.environment["ISPC_IMPORT_FUZZ_SEED"].flatMap(UInt64.init) ?? 1 }
    static var tracing: Bool { ProcessInfo.processInfo.environment["ISPC_IMPORT_FUZZ_TRACE"] == "1" }

    typealias Generator = SeededRandom

    static let hostileValues = [
        "1e300", "-1e300", "1.7976931348623157e308", "1e400", "-1e400", "4.9e-324", "9223372036854775807", "-9223372036854775808",
        "18446744073709551616", "123456789012345678901234567890", "9007199254740993", "4294967296", "65536", "1048576", "1048575",
        "256", "255", "101", "100.5", "100", "7", "8", "2", "1", "0", "-0", "-1", "-255", "0.5", "86400001", "1e16",
        "\"NaN\"", "\"nan\"", "\"-Infinity\"", "\"inf\"", "\"0x1p3\"", "\"1e999\"", "\"\"", "\"*\"", "\"???\"", "\"A\"", "\"p\"", "\"Z\"",
        "\"10.99.4.2\"", "\"::1\"", "\"300.1.1.1\"", "\"fe80::1%nosuchif\"", "\"trace\"", "\"ping\"", "\"traceroute\"",
        "null", "true", "false", "[]", "{}", "[1e300]", "{\"x\":\"*\"}", "{\"mpls\":[{\"exp\":9,\"label\":-1,\"s\":2,\"ttl\":300}]}",
        String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
    ]

    static let keys = [
        "report", "mtr", "hubs", "count", "host", "Loss%", "Snt", "Rcv", "Last", "Avg", "Best", "Wrst", "StDev", "dst", "src", "tests",
        "type", "version", "method", "hop_count", "attempts", "firsthop", "probe_count", "hops", "addr", "probe_ttl", "probe_id", "rtt",
        "icmp_type", "icmp_code", "tcp_flags", "icmpext", "mpls_labels", "mpls_ttl", "mpls_s", "mpls_exp", "mpls_label", "ping_sent",
        "responses", "seq", "reply_ttl", "af", "dst_addr", "dst_name", "src_addr", "prb_id", "msm_id", "fw", "proto", "paris_id",
        "timestamp", "endtime", "result", "hop", "from", "x", "err", "error", "dup", "late", "flags", "obj", "mpls", "label", "exp", "s",
        "ttl", "sent", "rcvd", "min", "max", "avg",
    ]

    /// Imports `bytes` every way: by the detected kind, and as every format (so inputs whose
    /// detection a mutation broke still reach each parser). Returns the failures of the property.
    static func exercise(_ bytes: [UInt8]) -> [String] {
        var failures: [String] = []
        var formats = ImportFormat.allCases
        if case .imported(let detected)? = try? Importer.kind(of: bytes, path: "fuzz") {
            formats.removeAll { $0 == detected }
            formats.insert(detected, at: 0)
        }
        for format in formats {
            let runs: [ImportedRun]
            do { runs = try Importer.runs(from: bytes, format: format, file: "fuzz") } catch {
                // Typed: the compiler holds `error` to ImportError; its message must say something.
                if error.description.isEmpty { failures.append("\(format): an error without a message") }
                continue
            }
            for run in runs {
                let report = HealthAnalyzer().analyze(run)
                do {
                    let decoded = try RunReport.decoder.decode(RunReport.self, from: try RunReport.encoder.encode(report))
                    if decoded.trace != report.trace { failures.append("\(format): the trace changed through the report") }
                } catch {
                    failures.append("\(format): an import made a report outside ReportLimits: \(error)")
                }
                if let trace = run.trace, trace.hops.count > ReportLimits.maximumHops { failures.append("\(format): \(trace.hops.count) hops") }
            }
        }
        return failures
    }

    /// Offsets of every JSON number and string token (and CSV field) of `text`.
    static func tokens(of text: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var index = 0
        while index < text.count {
            let byte = text[index]
            if byte == UInt8(ascii: "\"") {
                var end = index + 1
                while end < text.count, text[end] != UInt8(ascii: "\"") { end += text[end] == UInt8(ascii: "\\") ? 2 : 1 }
                ranges.append(index..<min(end + 1, text.count))
                index = end + 1
            } else if byte == UInt8(ascii: "-") || (0x30...0x39).contains(byte) {
                var end = index + 1
                while end < text.count, (0x30...0x39).contains(text[end]) || [0x2e, 0x65, 0x45, 0x2b, 0x2d].contains(text[end]) { end += 1 }
                ranges.append(index..<end)
                index = end
            } else {
                index += 1
            }
        }
        return ranges
    }

    static func mutate(_ input: [UInt8], _ generator: inout Generator) -> [UInt8] {
        var bytes = input
        switch Int.random(in: 0..<10, using: &generator) {
        case 0..<5:
            // One to three values replaced by hostile ones.
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let ranges = tokens(of: bytes)
                guard let range = ranges.randomElement(using: &generator) else { break }
                var value = hostileValues.randomElement(using: &generator)!
                // In CSV a value stands bare.
                if bytes.starts(with: Array("Mtr_Version".utf8)) { value = value.replacingOccurrences(of: "\"", with: "") }
                bytes.replaceSubrange(range, with: Array(value.utf8))
            }
        case 5:
            if !bytes.isEmpty { bytes[Int.random(in: 0..<bytes.count, using: &generator)] ^= UInt8.random(in: 1...255, using: &generator) }
        case 6:
            if !bytes.isEmpty { bytes.removeSubrange(Int.random(in: 0..<bytes.count, using: &generator)...) }
        case 7:
            if bytes.count > 2 {
                let start = Int.random(in: 0..<bytes.count - 1, using: &generator)
                let end = Int.random(in: start...min(bytes.count, start + 400), using: &generator)
                bytes.insert(contentsOf: bytes[start..<end], at: Int.random(in: 0...bytes.count, using: &generator))
            }
        case 8:
            if bytes.count > 2 {
                let start = Int.random(in: 0..<bytes.count - 1, using: &generator)
                bytes.removeSubrange(start..<min(bytes.count, start + Int.random(in: 1...64, using: &generator)))
            }
        default:
            bytes.insert(contentsOf: (0..<Int.random(in: 1...16, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) },
                         at: Int.random(in: 0...bytes.count, using: &generator))
        }
        return bytes
    }

    /// Random JSON from the formats' keys and the hostile values.
    static func randomJSON(depth: Int, _ generator: inout Generator) -> String {
        switch depth > 4 ? 2 : Int.random(in: 0..<4, using: &generator) {
        case 0:
            let count = Int.random(in: 0...5, using: &generator)
            return "{" + (0..<count).map { _ in
                "\"\(keys.randomElement(using: &generator)!)\":" + randomJSON(depth: depth + 1, &generator)
            }.joined(separator: ",") + "}"
        case 1:
            return "[" + (0..<Int.random(in: 0...4, using: &generator)).map { _ in randomJSON(depth: depth + 1, &generator) }.joined(separator: ",") + "]"
        default:
            return hostileValues.randomElement(using: &generator)!
        }
    }

    static func check(_ name: String, inputs: (inout Generator) -> [UInt8]) {
        var generator = Generator(seed: seed)
        for number in 0..<runs {
            let input = inputs(&generator)
            if tracing { print("import fuzz \(name) seed \(seed) #\(number): \(String(decoding: input, as: UTF8.self))") }
            let failures = exercise(input)
            if !failures.isEmpty {
                Issue.record("\(name), ISPC_IMPORT_FUZZ_SEED=\(seed), input #\(number): \(failures.joined(separator: "; "))\n\(String(decoding: input.prefix(2000), as: UTF8.self))")
                return
            }
        }
    }

    @Test(arguments: ImportFixtures.all.map(\.name))
    func mutatedInputsNeverTrapAndEveryImportStaysInsideTheReportLimits(name: String) {
        let valid = Array(ImportFixtures.all.first { $0.name == name }!.text.utf8)
        #expect(Self.exercise(valid).isEmpty)
        Self.check(name) { generator in
            var input = valid
            for _ in 0..<Int.random(in: 1...3, using: &generator) { input = Self.mutate(input, &generator) }
            return input
        }
    }

    @Test func randomJSONNeverTraps() {
        Self.check("random JSON") { generator in
            let lines = Int.random(in: 1...3, using: &generator)
            return Array((0..<lines).map { _ in Self.randomJSON(depth: 0, &generator) }.joined(separator: "\n").utf8)
        }
    }

    // MARK: Hostile inputs, one by one

    func importError(_ text: String, _ format: ImportFormat) -> ImportError? {
        do {
            _ = try Importer.runs(from: Array(text.utf8), format: format, file: "hostile")
            return nil
        } catch { return error }
    }

    @Test func aMillionHopsAreRefusedAtTheFirstHopTooMany() {
        let atlasHops = (1...1_000_000).lazy.map { "{\"hop\":\($0 % 255 + 1)}" }.joined(separator: ",")
        let atlas = "{\"type\":\"traceroute\",\"fw\":5080,\"dst_addr\":\"192.0.2.1\",\"result\":[\(atlasHops)]}"
        guard case .valueOutOfRange(_, let field, _, let allowed)? = importError(atlas, .atlasJSON) else {
            Issue.record("a million Atlas hops were not refused by count")
            return
        }
        #expect(field == "result" && allowed == "at most 255")
        let hubs = (1...1_000_000).lazy.map { _ in "{\"count\":1,\"host\":\"???\"}" }.joined(separator: ",")
        let mtr = "{\"report\":{\"mtr\":{\"dst\":\"192.0.2.1\"},\"hubs\":[\(hubs)]}}"
        guard case .valueOutOfRange(_, let mtrField, _, _)? = importError(mtr, .mtrJSON) else {
            Issue.record("a million mtr hubs were not refused by count")
            return
        }
        #expect(mtrField == "report.hubs")
    }

    @Test func deepNestingIsATypedError() {
        let deep = "{\"report\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        for format in ImportFormat.allCases { #expect(importError(deep, format) != nil, "\(format)") }
        #expect(throws: ImportError.self) { try Importer.kind(of: Array(deep.utf8), path: "deep") }
    }

    @Test(arguments: [
        (#""probe_ttl":1"#, #""probe_ttl":-3"#, "hops[0].probe_ttl"),
        (#""rtt":0.048"#, #""rtt":1e300"#, "hops[0].rtt"),
        (#""mpls_label":299792"#, #""mpls_label":1048576"#, "mpls_labels[0].label"),
        (#""ping_sent":10"#, #""ping_sent":1e30"#, "ping_sent"),
    ])
    func scamperNumbersOutOfRangeAreNamed(valid: String, hostile: String, field: String) {
        let text = ImportFixtures.scamper.replacingOccurrences(of: valid, with: hostile)
        guard case .valueOutOfRange(_, let named, _, _)? = importError(text, .scamperJSON) else {
            Issue.record("\(hostile) was not refused as out of range")
            return
        }
        #expect(named.hasSuffix(field), "\(named)")
    }

    @Test func nanLikeStringsAreNotNumbers() {
        for text in ["\"NaN\"", "\"inf\"", "\"-Infinity\"", "\"0x1p3\""] {
            let atlas = ImportFixtures.atlasPingV4.replacingOccurrences(of: "{\"rtt\":10.0}", with: "{\"rtt\":\(text)}")
            #expect(importError(atlas, .atlasJSON) != nil, "\(text)")
            let csv = ImportFixtures.mtrCSV.replacingOccurrences(of: ",0.10,0.10,0.10,0.10,", with: ",\(text.replacingOccurrences(of: "\"", with: "")),0.10,0.10,0.10,")
            #expect(importError(csv, .mtrCSV) != nil, "\(text)")
        }
    }

    @Test func manyPingsOfAMillionProbesEachAreRefusedNotAllocated() {
        let line = "{\"type\":\"ping\",\"dst\":\"192.0.2.1\",\"src\":\"192.0.2.9\",\"ping_sent\":1000000}"
        let text = Array(repeating: line, count: 10_000).joined(separator: "\n")
        guard case .valueOutOfRange(_, let field, _, _)? = importError(text, .scamperJSON) else {
            Issue.record("ten thousand pings of a million probes were not refused")
            return
        }
        #expect(field == "line 2: ping_sent")
    }
}
