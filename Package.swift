// swift-tools-version:6.1
import Foundation
import PackageDescription

let package = Package(
    name: "isp-checker",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ISPChecker", targets: ["ISPChecker"]),
        .library(name: "ISPCheckerTestKit", targets: ["ISPCheckerTestKit"]),
        .executable(name: "isp-checker", targets: ["isp-checker"]),
        // YAML loading of the resilience settings; kept apart so the core library needs no Yams.
        .library(name: "ISPCheckerConfig", targets: ["ISPCheckerConfig"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.0.0"),
    ],
    targets: [
        // C only: sockets, packets, pcap timing, capabilities. Knows nothing of Swift.
        .target(
            name: "CProbe",
            path: "CProbe",
            exclude: ["fuzz"],
            // Warnings (-Wall -Wextra -Werror) and sanitizers are applied by scripts/c-checks.sh:
            // unsafeFlags here would stop other packages from depending on this one.
            // libpcap is not linked: pcap_loader.c opens it at the first capture (see cp_pcap.h).
            linkerSettings: [.linkedLibrary("cap")]
        ),
        // C only: DNS wire format (ldns), HTTP(S) (libcurl + OpenSSL for the certificate), TCP
        // connect. Separate from CProbe so that the raw-socket core keeps its small link set.
        .target(
            name: "CServiceProbe",
            path: "CServiceProbe",
            exclude: ["fuzz"],
            // Not linked: libs_loader.c opens libcurl, OpenSSL and ldns at the first HTTP or DNS
            // probe (see cs_libs.h), so a process that only pings or traces never maps them.
        ),
        // C only: the terminal of the CLI's live views (termios, the handlers that restore it on
        // SIGINT, SIGTERM and crashes). Linked by the isp-checker executable alone.
        .target(name: "CTerminal", path: "CTerminal"),
        // The layers, lowest first; each may import only those above it in this list, so the
        // compiler keeps data flowing one way: C -> engine and probes -> typed results ->
        // report, score, diagnosis -> outputs. docs/architecture.md draws it.
        // Generic primitives: locks TSan can see, a semaphore, Duration helpers, whole-file I/O.
        .target(name: "ISPCheckerPrimitives"),
        // What probes measure and how they fail, as types: ping, trace, DNS, HTTP, TCP and sweep
        // results, addresses, outcomes, `ProbeError`. Pure Swift: no C, no engine.
        .target(name: "ISPCheckerResults", dependencies: ["ISPCheckerPrimitives"]),
        // The C wrappers, the engine and every probe (ping, trace, sweep, DNS, HTTP, TCP),
        // privileges. The only Swift target that imports CProbe or CServiceProbe.
        .target(
            name: "ISPCheckerCore",
            dependencies: [
                "CProbe",
                "CServiceProbe",
                "ISPCheckerPrimitives",
                "ISPCheckerResults",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Report, grading, score, diagnosis, baseline: typed results in, the runbook's report out.
        .target(name: "ISPCheckerAnalysis", dependencies: ["ISPCheckerResults"]),
        // Other tools' results (mtr, scamper, RIPE Atlas) read into the typed results, with where
        // they came from, for replay to score and diagnose. Pure Swift: no C, no engine.
        .target(name: "ISPCheckerImport", dependencies: ["ISPCheckerPrimitives", "ISPCheckerResults"]),
        // Retry, circuit breaker, the probe scheduler (which schedules by a report's score); which
        // probe errors are worth a retry.
        .target(
            name: "ISPCheckerResilience",
            dependencies: [
                "ISPCheckerPrimitives",
                "ISPCheckerResults",
                "ISPCheckerAnalysis",
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // The umbrella a user imports: a health check of a target, from the check plan to the
        // report; re-exports the layers above.
        .target(
            name: "ISPChecker",
            dependencies: [
                "ISPCheckerPrimitives",
                "ISPCheckerResults",
                "ISPCheckerCore",
                "ISPCheckerAnalysis",
                "ISPCheckerResilience",
                "ISPCheckerImport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Test helpers for users' tests, as swift-metrics has MetricsTestKit: a manual clock.
        .target(name: "ISPCheckerTestKit", dependencies: ["ISPCheckerPrimitives"]),
        .target(
            name: "ISPCheckerConfig",
            dependencies: [
                "ISPChecker",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "isp-checker",
            dependencies: [
                "ISPChecker",
                "CTerminal",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // The shipped CLI starts faster (docs/benchmarks.md, issue 17): lld with packed
            // relative relocations (DT_RELR: the loader applies a compact bitmap instead of
            // ~100,000 relocation records, glibc >= 2.36) and only the symbols the binary must
            // export (7,700 -> 400; the runtime's start-up dladdr scans them all). 1.3 ms less
            // CPU for a trace. Release builds only, and only this executable: the library
            // products carry no unsafe flags, so packages can still depend on them.
            linkerSettings: [
                .unsafeFlags(
                    ["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic"],
                    .when(platforms: [.linux], configuration: .release))
            ]
        ),
        .testTarget(
            name: "ISPCheckerTests",
            dependencies: ["ISPChecker", "ISPCheckerPrimitives", "ISPCheckerResults", "ISPCheckerCore", "ISPCheckerAnalysis", "ISPCheckerResilience", "ISPCheckerImport", "ISPCheckerTestKit", "CProbe", "CServiceProbe", "TestSupport"]
        ),
        // Helpers the test targets share: child processes, commands, the repository root. No
        // product: only the test targets depend on it, in both configurations (see below).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        // The CLI's own argument reading (QuickParse) against ArgumentParser's.
        .testTarget(name: "CLITests", dependencies: ["isp-checker", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "LabTests", dependencies: ["ISPChecker", "ISPCheckerPrimitives", "ISPCheckerResults", "ISPCheckerCore", "ISPCheckerAnalysis", "ISPCheckerResilience", "ISPCheckerImport", "CProbe", "TestSupport"]),
        .testTarget(
            name: "ResilienceTests",
            dependencies: [
                "ISPChecker",
                "ISPCheckerPrimitives", "ISPCheckerResults", "ISPCheckerCore", "ISPCheckerAnalysis", "ISPCheckerResilience",
                "ISPCheckerConfig",
                "ISPCheckerTestKit", "TestSupport",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// The sanitizer stages of scripts/test.sh (ISPC_CORE_ONLY=1) run only ISPCheckerTests and
// ResilienceTests: the CLI, its tests and the lab suites are not built there (two sanitized builds
// of them cost CI minutes for code no sanitized test runs).
if ProcessInfo.processInfo.environment["ISPC_CORE_ONLY"] != nil {
    let unsanitized: Set<String> = ["isp-checker", "CLITests", "LabTests"]
    package.targets.removeAll { unsanitized.contains($0.name) }
    package.products.removeAll { unsanitized.contains($0.name) }
}

// The monitor: run history, Prometheus metrics and the HTTP API. It brings Hummingbird, GRDB and
// postgres-nio, so it is an optional product the core library never depends on. The sanitizer
// stages of scripts/test.sh set ISPC_CORE_ONLY=1 to build the library's own tests without it.
if ProcessInfo.processInfo.environment["ISPC_CORE_ONLY"] == nil {
    package.products += [
        .library(name: "ISPCheckerMonitor", targets: ["ISPCheckerMonitor"]),
        .executable(name: "isp-checker-monitor", targets: ["isp-checker-monitor"]),
    ]
    package.dependencies += [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.27.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
    ]
    package.targets += [
        .target(
            name: "ISPCheckerMonitor",
            dependencies: [
                "ISPChecker",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "isp-checker-monitor",
            dependencies: [
                "ISPCheckerMonitor",
                "ISPCheckerConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "MonitorTests", dependencies: ["ISPCheckerMonitor", "ISPCheckerConfig", "TestSupport"]),
    ]
}
