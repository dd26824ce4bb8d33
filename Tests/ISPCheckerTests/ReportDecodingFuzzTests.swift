import Foundation
import Synchronization
import Testing
import TestSupport
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults

/// A seeded fuzzer of the run report decoder (`RunReport.decoder`: what `run --mode replay` and
/// the monitor's history read). Each input is a valid report with one to three of its JSON
/// values replaced by a hostile one (numbers no Int or Double holds, negative counts, huge
/// TTLs, wrong types, nulls) or a byte-level mutation of it. Every input must decode or be
/// refused with an error: never trap. Every report that decodes is re-scored (with itself as
/// history, the monitor's path), encoded, and must decode again.
///
/// `ISPC_REPORT_FUZZ_RUNS` inputs (20,000 by default; CI runs 500,000, docs/fuzzing.md), from
/// `ISPC_REPORT_FUZZ_SEED` (1 by default, so a run is the same at the same commit). A trap
/// stops the test process; `ISPC_REPORT_FUZZ_TRACE=1` prints every input first, to find it.
@Suite struct ReportDecodingFuzzTests {
    static var runs: Int { ProcessInfo.processInfo.environment["ISPC_REPORT_FUZZ_RUNS"].flatMap(Int.init) ?? 20_000 }
    static var seed: UInt64 { ProcessInfo.processInfo.environment["ISPC_REPORT_FUZZ_SEED"].flatMap(UInt64.init) ?? 1 }

    /// Replacement values: at and beyond every edge the decoder and the analysis care about.
    static let hostileValues = [
        "1e300", "-1e300", "1.7976931348623157e308", "-1.7976931348623157e308", "1e400", "4.9e-324",
        "9223372036854775807", "-9223372036854775808", "9223372036854775808", "18446744073709551616",
        "9007199254740993", "4294967296", "65536", "65535", "256", "255", "101", "100.0001", "100", "1", "0", "-0",
        "-1", "0.5", "999", "1000", "86400001", "-2147483649", "2147483648", "1e16", "123456789012345678901234567890",
        "\"\"", "\"x\"", "\"1e300\"", "null", "true", "false", "[]", "{}", "[1e300]", "{\"ttl\":1e300}",
        "\"udp\"", "\"tcp\"", "\"unreachable\"", "\"destination_reached\"", "\"ipv4\"", "\"ipv6\"", "\"P1\"", "\"crit\"",
        "\"::1\"", "\"300.1.1.1\"", "\"2026-13-45T99:99:99Z\"", "\"9999-12-31T23:59:59Z\"", "\"0000-01-01T00:00:00Z\"",
    ]

    /// The monitor's store encoding: compact, sorted keys.
    static var compactEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    /// The seeds: reports of every probe kind, with a trace (MPLS, unreachable, echoes) and without.
    static func seeds() throws -> [String] {
        var hops = (1...6).map { Fixture.hop($0, ms: Double($0) * 4, loss: $0 >= 5 ? 20 : 0, destination: $0 == 6) }
        hops[2].mplsStacks = [[MPLSLabel(label: 24_001, trafficClass: 0, bottomOfStack: true, ttl: 1)]]
        hops[3].echoSent = 100
        hops[3].echoReceived = 97
        hops[4].unreachable = [UnreachableCode(family: .ipv4, code: 13)]
        let trace = Fixture.trace(hops)
        let reports = [
            Fixture.analyze([Fixture.ping(loss: 20, avg: 185.3), Fixture.dns(outcome: "ok"),
                             Fixture.http(statusCode: 503, outcome: "http_error", extra: ["cert_days_left": .int(3)]),
                             Fixture.tcp(outcome: "ok", connectMilliseconds: 12.5)], trace: trace),
            Fixture.analyze([Fixture.ping(loss: 100, avg: nil)],
                            trace: Fixture.trace([Fixture.hop(1, ms: 1), Fixture.hop(2, ms: nil)], stop: .unreachable(UnreachableCode(family: .ipv6, code: 1)))),
            Fixture.analyze([Fixture.dns(outcome: "servfail", extra: ["failed_resolvers": .strings(["192.0.2.53"])])], trace: nil),
        ]
        return try reports.map { String(decoding: try Self.compactEncoder.encode($0), as: UTF8.self) }
    }

    /// The ranges of a JSON text's scalar values (numbers, strings, literals), to replace.
    static func valueRanges(_ text: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var index = 0
        while index < text.count {
            let byte = text[index]
            if byte == UInt8(ascii: "\"") {
                var end = index + 1
                while end < text.count && text[end] != UInt8(ascii: "\"") { end += text[end] == UInt8(ascii: "\\") ? 2 : 1 }
                let next = text[min(end + 1, text.count - 1)...].first { $0 != 0x20 }
                // A key is followed by ':': only values are replaced.
                if next != UInt8(ascii: ":") { ranges.append(index..<min(end + 1, text.count)) }
                index = end + 1
            } else if byte == UInt8(ascii: "-") || (0x30...0x39).contains(byte) || byte == UInt8(ascii: "t") || byte == UInt8(ascii: "f") || byte == UInt8(ascii: "n") {
                var end = index
                while end < text.count, ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]")].contains(text[end]) { end += 1 }
                ranges.append(index..<end)
                index = end
            } else {
                index += 1
            }
        }
        return ranges
    }

    static func mutate(_ seed: [UInt8], ranges: [Range<Int>], using random: inout SeededRandom) -> [UInt8] {
        if random.next() % 10 < 7 {
            // Replace 1 to 3 values, back to front so earlier ranges stay valid.
            let picks = (0..<(1 + Int(random.next() % 3))).map { _ in ranges[Int(random.next() % UInt64(ranges.count))] }
            var out = seed
            for range in Set(picks.map(\.lowerBound)).sorted(by: >).compactMap({ start in picks.first { $0.lowerBound == start } }) {
                out.replaceSubrange(range, with: Array(hostileValues[Int(random.next() % UInt64(hostileValues.count))].utf8))
            }
            return out
        }
        var out = seed
        for _ in 0..<(1 + Int(random.next() % 4)) where !out.isEmpty {
            let position = Int(random.next() % UInt64(out.count))
            switch random.next() % 5 {
            case 0: out[position] ^= UInt8(truncatingIfNeeded: 1 << (random.next() % 8))
            case 1: out.remove(at: position)
            case 2:
                let punctuation = Array("{}[],:\"0-e.9".utf8)
                out.insert(punctuation[Int(random.next() % UInt64(punctuation.count))], at: position)
            case 3:
                let end = min(out.count, position + Int(random.next() % 64))
                out.insert(contentsOf: out[position..<end], at: position)
            default: out.removeSubrange(position..<min(out.count, position + Int(random.next() % 32)))
            }
        }
        return out
    }

    /// The inputs are split into a fixed number of shards, each with its own generator seeded
    /// from (seed, shard), run on every core at once: the same inputs whatever the machine.
    static let shards = 8

    struct ShardResult {
        var accepted = 0
        var refusedByRange = 0
    }

    static func runShard(_ shard: Int, runs: Int, seeds: [[UInt8]], ranges: [[Range<Int>]]) -> ShardResult {
        var random = SeededRandom(seed: seed &* 0x1_0000 &+ UInt64(shard))
        let decoder = RunReport.decoder
        let encoder = compactEncoder
        let analyzer = HealthAnalyzer()
        let trace = ProcessInfo.processInfo.environment["ISPC_REPORT_FUZZ_TRACE"] != nil
        var result = ShardResult()
        for run in 0..<runs {
            let which = Int(random.next() % UInt64(seeds.count))
            let input = mutate(seeds[which], ranges: ranges[which], using: &random)
            if trace {
                FileHandle.standardError.write(Data("shard \(shard) input \(run): \(String(decoding: input, as: UTF8.self))\n".utf8))
            }
            let report: RunReport
            do {
                report = try decoder.decode(RunReport.self, from: Data(input))
            } catch is ReportValueError {
                result.refusedByRange += 1
                continue
            } catch {
                continue
            }
            result.accepted += 1
            let rescored = analyzer.reanalyze(report, history: [report])
            #expect(throws: Never.self, "a re-scored report must encode and decode again: \(String(decoding: input, as: UTF8.self))") {
                _ = try decoder.decode(RunReport.self, from: try encoder.encode(rescored))
            }
        }
        return result
    }

    @Test func hostileReportsDecodeOrAreRefusedAndNeverTrap() throws {
        let seeds = try Self.seeds().map { Array($0.utf8) }
        let ranges = seeds.map(Self.valueRanges)
        #expect(ranges.allSatisfy { $0.count > 10 }, "values per seed: \(ranges.map(\.count))")
        let runs = Self.runs
        let results = Locked([ShardResult](repeating: ShardResult(), count: Self.shards)) // TSan sees pthread locks, not Mutex
        DispatchQueue.concurrentPerform(iterations: Self.shards) { shard in
            let share = runs / Self.shards + (shard < runs % Self.shards ? 1 : 0)
            let result = Self.runShard(shard, runs: share, seeds: seeds, ranges: ranges)
            results.withLock { $0[shard] = result }
        }
        let accepted = results.withLock { $0.reduce(0) { $0 + $1.accepted } }
        let refusedByRange = results.withLock { $0.reduce(0) { $0 + $1.refusedByRange } }
        // The fuzzer must reach the analysis (accepted) and the range checks (refused), not only the JSON parser.
        #expect(accepted > runs / 20, "accepted \(accepted) of \(runs)")
        #expect(refusedByRange > runs / 40, "refused by a range check \(refusedByRange) of \(runs)")
        print("report fuzz: \(runs) inputs, seed \(Self.seed), \(Self.shards) shards: \(accepted) decoded and re-scored, \(refusedByRange) refused by a range check, the rest not a report")
    }
}
