// swift-tools-version:6.1
// Benchmarks for isp-checker, kept in their own package so the library's users never resolve
// the benchmark framework. Run from this folder: `swift package benchmark` (see
// docs/benchmarks.md). The ping benchmark needs root for its raw socket and capture, and
// probes 127.0.0.1 only.
import PackageDescription

let package = Package(
    name: "isp-checker-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // The explicit name keeps `.product(package:)` working whatever the checkout folder is called.
        .package(name: "isp-checker", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "ProbeBenchmarks",
            dependencies: [
                .product(name: "ISPChecker", package: "isp-checker"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/ProbeBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "AnalysisBenchmarks",
            dependencies: [
                .product(name: "ISPChecker", package: "isp-checker"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/AnalysisBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Pure Swift, no network, no privileges.
        .executableTarget(
            name: "ResilienceBenchmarks",
            dependencies: [
                .product(name: "ISPChecker", package: "isp-checker"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/ResilienceBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "SweepBenchmarks",
            dependencies: [
                .product(name: "ISPChecker", package: "isp-checker"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/SweepBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
