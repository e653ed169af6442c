import AuditKit
import Foundation
import MongoKit

// Usage: audit-with-custom-check DATABASE [SPEC.yml]
// Audits DATABASE at $MONGODB_URI with a spec built in code (or read from SPEC.yml with the custom check
// registered), prints the JSON report and exits 0 when it passed, 1 when it failed.
let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: audit-with-custom-check DATABASE [SPEC.yml]\n".utf8))
    exit(2)
}
do {
    let registry = try CheckRegistry.builtIn.registering(MinimumDocumentsCheck.self)
    let spec: AuditSpec
    if arguments.count >= 3 {
        spec = try AuditSpec.load(path: arguments[2], registry: registry)
    } else {
        spec = AuditSpec(checks: [
            ConfiguredCheck(check: RequiredCollectionsCheck(collections: ["recordings"])),
            ConfiguredCheck(check: CriticalIndexesCheck(collection: "recordings", indexes: [IndexSpec(keys: [IndexKey(field: "uuid", direction: 1)])])),
            ConfiguredCheck(check: UniqueValuesCheck(collection: "recordings", field: "uuid")),
            ConfiguredCheck(check: MinimumDocumentsCheck(collection: "recordings", minimum: 1_000_000), severity: .high),
        ])
    }
    let client = try MongoClient(uri: ProcessInfo.processInfo.environment["MONGODB_URI"] ?? "mongodb://127.0.0.1:27017")
    let report = try Auditor(spec: spec, tool: "audit-with-custom-check").run(on: client, database: arguments[1], failOn: .high)
    print(try JSONReporter().render(report), terminator: "")
    exit(report.outcome == .passed ? 0 : 1)
} catch {
    FileHandle.standardError.write(Data("audit-with-custom-check: \(error)\n".utf8))
    exit(2)
}
