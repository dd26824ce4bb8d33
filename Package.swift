// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "isp-checker",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ISPChecker", targets: ["ISPChecker"]),
        .executable(name: "isp-checker", targets: ["isp-checker"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
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
    ],
    swiftLanguageModes: [.v6]
)
