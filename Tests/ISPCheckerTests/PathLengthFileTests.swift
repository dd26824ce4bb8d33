import Foundation
import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults

/// The file of path lengths a trace process leaves for the next one: real files in a temporary
/// folder, no network.
struct PathLengthFileTests {
    let folder: String

    init() throws {
        folder = NSTemporaryDirectory() + "pathlengths-\(UUID().uuidString)"
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: folder) }

    @Test func whatOneProcessMeasuredTheNextReads() throws {
        defer { cleanUp() }
        let path = folder + "/deep/isp-checker/path-lengths"
        let first = try #require(PathLengthFile(path: path, now: 1_000))
        #expect(first.pathLengths.isEmpty)
        first.save([IPAddress("10.99.4.2")!: 4, IPAddress("2001:db8::2")!: 7], now: 1_000)
        let second = try #require(PathLengthFile(path: path, now: 1_060))
        #expect(second.pathLengths == [IPAddress("10.99.4.2")!: 4, IPAddress("2001:db8::2")!: 7])
        // Only the owner may read what was traced (and its folders were made on the way).
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
    }

    @Test func oldDamagedAndOutOfRangeLinesAreSkipped() throws {
        defer { cleanUp() }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/path-lengths"
        let now = 100_000
        let text = [
            "10.0.0.1 5 \(now - 10)",                                  // kept
            "10.0.0.2 6 \(now - PathLengthFile.maximumAgeSeconds - 1)", // too old
            "10.0.0.3 0 \(now)", "10.0.0.4 256 \(now)",                // no such TTL
            "10.0.0.5 9223372036854775807 \(now)",                     // Int.max
            "not-an-address 3 \(now)", "10.0.0.6 3", "garbage", "",
        ].joined(separator: "\n")
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        let file = try #require(PathLengthFile(path: path, now: now))
        #expect(file.pathLengths == [IPAddress("10.0.0.1")!: 5])
    }

    @Test func aDistanceAlreadyKnownAndFreshIsNotRewritten() throws {
        defer { cleanUp() }
        let path = folder + "/path-lengths"
        let address = IPAddress("10.99.4.2")!
        let file = try #require(PathLengthFile(path: path, now: 1_000))
        file.save([address: 4], now: 1_000)
        let written = try String(contentsOfFile: path, encoding: .utf8)
        #expect(written == "10.99.4.2 4 1000\n")
        // The same distance within the hour: the file stays as it was (its time is not renewed).
        let again = try #require(PathLengthFile(path: path, now: 1_000 + PathLengthFile.refreshSeconds))
        again.save([address: 4], now: 1_000 + PathLengthFile.refreshSeconds)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == written)
        // Older than that, it is renewed; a changed distance is written at once.
        let later = 1_001 + PathLengthFile.refreshSeconds
        let renewed = try #require(PathLengthFile(path: path, now: later))
        renewed.save([address: 4], now: later)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "10.99.4.2 4 \(later)\n")
        renewed.save([address: 5], now: later)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "10.99.4.2 5 \(later)\n")
    }

    @Test func theNewestEntriesAreKeptWhenItFills() throws {
        defer { cleanUp() }
        let path = folder + "/path-lengths"
        let file = try #require(PathLengthFile(path: path, now: 1))
        let old = (0..<PathLengthFile.capacity).map { IPAddress("10.1.\($0 / 256).\($0 % 256)")! }
        file.save(Dictionary(uniqueKeysWithValues: old.map { ($0, 3) }), now: 1)
        file.save([IPAddress("10.2.0.1")!: 8], now: 2)
        let reread = try #require(PathLengthFile(path: path, now: 3))
        #expect(reread.pathLengths.count == PathLengthFile.capacity)
        #expect(reread.pathLengths[IPAddress("10.2.0.1")!] == 8)
    }

    @Test func aFileThatIsNotARegularFileIsNotUsed() throws {
        defer { cleanUp() }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        // A FIFO would block a reader forever; a symbolic link could point anywhere.
        #expect(mkfifo(folder + "/fifo", 0o600) == 0)
        #expect(PathLengthFile(path: folder + "/fifo") == nil)
        try FileManager.default.createSymbolicLink(atPath: folder + "/link", withDestinationPath: "/etc/passwd")
        #expect(PathLengthFile(path: folder + "/link") == nil)
    }

    @Test func anEngineMemorySeededFromTheFileHintsTheDistance() {
        var memory = PathLengthMemory()
        let target = IPAddress("10.99.4.2")!
        memory.seed([target: 4, IPAddress("10.99.9.9")!: 300])
        #expect(memory.hint(for: target) == 4)
        #expect(memory.measuredDistances == [target: 4])
        // A distance this process measured itself wins over the file's.
        memory.noteReached(target, atTTL: 5)
        memory.seed([target: 4])
        #expect(memory.hint(for: target) == 5)
    }
}
