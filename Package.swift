// swift-tools-version:6.0
import PackageDescription

// Data flows one way: mongo-audit -> AuditKit / MigrationKit / SampleData -> SpecSupport -> MongoKit -> CMongoc.
// MongoKit holds all C interop with libmongoc. ScanKernel, below MongoKit and AuditKit, holds the raw BSON
// reader and the data structures of the scan, and with them the unsafe code that makes the scan fast (it
// imports CMongoc only for the shim's prefetch builtin).
let package = Package(
    name: "mongo-audit",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "mongo-audit", targets: ["mongo-audit"]),
        .library(name: "MongoKit", targets: ["MongoKit"]),
        .library(name: "AuditKit", targets: ["AuditKit"]),
        .library(name: "MigrationKit", targets: ["MigrationKit"]),
        .library(name: "SpecSupport", targets: ["SpecSupport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CMongoc",
            pkgConfig: "libmongoc-1.0",
            providers: [.apt(["libmongoc-dev", "libbson-dev"])]
        ),
        // glibc's malloc.h, for the tool's allocator tuning.
        .systemLibrary(name: "CMalloc"),
        // The one escaping layer for every output context; no dependencies.
        .target(name: "TextEscaping"),
        .target(name: "ScanKernel", dependencies: ["CMongoc"]),
        .target(
            name: "MongoKit",
            dependencies: ["CMongoc", "ScanKernel", "TextEscaping", .product(name: "Logging", package: "swift-log")]),
        .target(name: "SampleData", dependencies: ["MongoKit"]),
        .target(name: "SpecSupport", dependencies: ["MongoKit", .product(name: "Yams", package: "Yams")]),
        .target(
            name: "MigrationKit",
            dependencies: ["MongoKit", "SpecSupport", "TextEscaping", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "AuditKit",
            dependencies: [
                "MongoKit", "SpecSupport", "ScanKernel", "TextEscaping",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "mongo-audit",
            dependencies: [
                "AuditKit", "MigrationKit", "SampleData", "MongoKit", "TextEscaping",
                .target(name: "CMalloc", condition: .when(platforms: [.linux])),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "TestSupport", dependencies: ["MongoKit", "SampleData"], path: "Tests/TestSupport"),
        .testTarget(
            name: "MongoKitTests", dependencies: ["MongoKit", "TestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "AuditKitTests", dependencies: ["AuditKit", "SampleData", "TestSupport", "TextEscaping"]),
        .testTarget(name: "TextEscapingTests", dependencies: ["TextEscaping"]),
        .testTarget(name: "MigrationKitTests", dependencies: ["MigrationKit", "SampleData", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["MongoKit", "SampleData", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
