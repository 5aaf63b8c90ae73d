// swift-tools-version:6.0
import Foundation
import PackageDescription

/// The CPU kernels and the tensor loops are compiled for the machine that builds them: without
/// a CPU target, `SIMD16.addingProduct` lowers to one `fmaf` call per lane and GEMM runs ~100×
/// slower (DESIGN.md §4). Only these two targets carry unsafe flags.
let kernelFlags: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "native"]),
    .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
]

/// Open MPI is opt-in (README "Running on a cluster"): `LCNN_MPI=1 swift build` adds the system
/// library `CMPI` (Debian: libopenmpi-dev) and the `LCNNMPI` binding, and links them into
/// `lcnn`, whose `--distributed` flag then runs under `mpirun`. The default build needs no MPI.
let withMPI = ProcessInfo.processInfo.environment["LCNN_MPI"] == "1"
let mpiTargets: [Target] = withMPI ? [
    .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
    .target(name: "LCNNMPI", dependencies: ["CMPI", "LCNNKit"]),
] : []

let package = Package(
    name: "LCNN",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "TensorCore", targets: ["TensorCore"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "Plotting", targets: ["Plotting"]),
        .library(name: "LCNNKit", targets: ["LCNNKit"]),
        .library(name: "Benchmarks", targets: ["Benchmarks"]),
        .executable(name: "lcnn", targets: ["lcnn"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CKernelHints", path: "Sources/CKernelHints"),
        .target(name: "TensorKernels", dependencies: ["CKernelHints"], swiftSettings: kernelFlags),
        .target(name: "TensorCore", dependencies: ["TensorKernels"], swiftSettings: kernelFlags),
        .target(name: "NN", dependencies: ["TensorCore"]),
        .target(name: "_TestSupport", dependencies: ["TensorCore", "TensorKernels"]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .target(name: "Datasets", dependencies: ["TensorCore", "CZlib"]),
        .target(name: "Plotting", dependencies: ["CZlib"]),
        .target(name: "LCNNKit", dependencies: ["TensorCore", "NN", "Datasets", "Plotting"]),
        .target(name: "Benchmarks", dependencies: ["TensorKernels", "TensorCore", "NN", "Datasets", "LCNNKit"]),
        .executableTarget(
            name: "lcnn",
            dependencies: [
                "TensorCore", "TensorKernels", "NN", "Datasets", "Plotting", "LCNNKit", "Benchmarks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ] + (withMPI ? ["LCNNMPI"] : []),
            swiftSettings: withMPI ? [.define("LCNN_MPI")] : []),
        .testTarget(name: "TensorKernelsTests", dependencies: ["TensorKernels"]),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "TensorKernels", "_TestSupport"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "TensorCore", "TensorKernels", "_TestSupport"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "TensorCore", "_TestSupport"]),
        .testTarget(name: "PlottingTests", dependencies: ["Plotting"]),
        .testTarget(name: "LCNNKitTests", dependencies: ["LCNNKit", "NN", "Datasets", "TensorCore", "Plotting", "_TestSupport"]),
        .testTarget(name: "LCNNCommandTests", dependencies: ["lcnn", "LCNNKit", "NN", "Benchmarks"]),
        .testTarget(name: "BenchmarksTests", dependencies: ["Benchmarks", "TensorKernels"]),
    ] + mpiTargets
)
