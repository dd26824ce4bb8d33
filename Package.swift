// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "isp-checker",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ISPChecker", targets: ["ISPChecker"]),
        .executable(name: "isp-checker", targets: ["isp-checker"]),
        // YAML loading of the resilience settings; kept apart so the core library needs no Yams.
        .library(name: "ISPCheckerConfig", targets: ["ISPCheckerConfig"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
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
        // C only: DNS wire format (ldns), HTTP(S) (libcurl + OpenSSL for the certificate), TCP
        // connect. Separate from CProbe so that the raw-socket core keeps its small link set.
        .target(
            name: "CServiceProbe",
            path: "CServiceProbe",
            exclude: ["fuzz"],
            linkerSettings: [.linkedLibrary("ldns"), .linkedLibrary("curl"), .linkedLibrary("ssl"), .linkedLibrary("crypto")]
        ),
        .target(
            name: "ISPChecker",
            dependencies: [
                "CProbe",
                "CServiceProbe",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
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
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "ISPCheckerTests", dependencies: ["ISPChecker", "CProbe", "CServiceProbe"]),
        .testTarget(name: "LabTests", dependencies: ["ISPChecker", "CProbe"]),
        .testTarget(
            name: "ResilienceTests",
            dependencies: [
                "ISPChecker",
                "ISPCheckerConfig",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
