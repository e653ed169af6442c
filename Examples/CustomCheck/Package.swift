// swift-tools-version:6.0
import PackageDescription

// An application that embeds mongo-audit's libraries, adds a check of its own beside the built-in ones and
// audits a database. `MONGO_AUDIT_PACKAGE` points it at another copy of mongo-audit (the test suite builds
// it against a tagged local clone).
let mongoAudit = Context.environment["MONGO_AUDIT_PACKAGE"] ?? "https://github.com/mongo-audit/mongo-audit"

let package = Package(
    name: "audit-with-custom-check",
    platforms: [.macOS(.v13)],
    dependencies: [.package(url: mongoAudit, from: "0.2.0")],
    targets: [
        .executableTarget(
            name: "audit-with-custom-check",
            dependencies: [
                .product(name: "AuditKit", package: "mongo-audit"),
                .product(name: "MongoKit", package: "mongo-audit"),
                .product(name: "SpecSupport", package: "mongo-audit"),
            ]
        )
    ]
)
