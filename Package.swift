// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "isp-checker",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ISPChecker", targets: ["ISPChecker"]),
        .executable(name: "isp-checker", targets: ["isp-checker"]),
        // Optional: run history, Prometheus metrics and the HTTP API. Brings Hummingbird, GRDB and
        // postgres-nio; the core library stays free of them.
        .library(name: "ISPCheckerMonitor", targets: ["ISPCheckerMonitor"]),
        .executable(name: "isp-checker-monitor", targets: ["isp-checker-monitor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        // Monitor only (ISPCheckerMonitor, isp-checker-monitor).
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.21.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
    ],
    targets: [
        // C only: sockets, packets, pcap timing, capabilities. Knows nothing of Swift.
        .target(
            name: "CProbe",
            path: "CProbe",
            exclude: ["fuzz"],
            // Warnings (-Wall -Wextra -Werror) and sanitizers are applied by scripts/c-checks.sh:
            // unsafeFlags here would stop other packages from depending on this one.
            linkerSettings: [.linkedLibrary("pcap"), .linkedLibrary("cap")]
        ),
        .target(
            name: "ISPChecker",
            dependencies: [
                "CProbe",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "isp-checker",
            dependencies: [
                "ISPChecker",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "ISPCheckerMonitor",
            dependencies: [
                "ISPChecker",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "isp-checker-monitor",
            dependencies: [
                "ISPCheckerMonitor",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "ISPCheckerTests", dependencies: ["ISPChecker", "CProbe"]),
        .testTarget(name: "LabTests", dependencies: ["ISPChecker", "CProbe"]),
        .testTarget(
            name: "MonitorTests",
            dependencies: ["ISPCheckerMonitor"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
