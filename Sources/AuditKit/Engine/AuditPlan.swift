import Foundation
import MongoKit
import TextEscaping

/// What an audit will read and what it will cost, known before paying it: per collection its documents
/// and size from `$collStats`, the fields the shared pass projects, whether it samples, and an estimate of
/// the pass's time from a short calibration read; per other check the commands it sends.
package struct AuditPlan: Sendable {
    package struct Pass: Sendable {
        package let collection: String
        package let checks: [String]
        package let exists: Bool
        package let documents: Int
        package let bytes: Int
        /// The fields the pass projects; nil when a check needs whole documents.
        package let fields: [String]?
        /// Documents the pass will read: all of them, or the sample.
        package let documentsToRead: Int
        package let sampled: Bool
        /// Documents per second measured by the calibration read (nil when the collection is empty).
        package let documentsPerSecond: Double?
        /// What checks of the pass read besides it (`references` beyond its budget, say), in words.
        package var alsoReads: [String] = []
        package var estimatedSeconds: Double? { documentsPerSecond.map { Double(documentsToRead) / max($0, 1) } }
    }

    package struct Step: Sendable {
        package let check: String
        package let collection: String?
        package let needs: String
    }

    package let database: String
    package let passes: [Pass]
    package let otherChecks: [Step]
    /// How many passes run at once (`--parallel`).
    package var scansAtOnce = 1

    /// Documents the calibration read takes from each collection: enough to time, too few to load a server.
    package static let calibrationDocuments = 2_000

    package var json: JSONValue {
        .object([
            ("database", .string(database)),
            ("scansAtOnce", .integer(Int64(scansAtOnce))),
            (
                "passes",
                .array(
                    passes.map { pass in
                        .object([
                            ("collection", .string(pass.collection)), ("checks", .array(pass.checks.map(JSONValue.string))),
                            ("exists", .bool(pass.exists)), ("documents", .integer(Int64(pass.documents))), ("bytes", .integer(Int64(pass.bytes))),
                            ("fields", pass.fields.map { .array($0.map(JSONValue.string)) } ?? .null),
                            ("documentsToRead", .integer(Int64(pass.documentsToRead))), ("sampled", .bool(pass.sampled)),
                            ("documentsPerSecond", pass.documentsPerSecond.map(JSONValue.number) ?? .null),
                            ("estimatedSeconds", pass.estimatedSeconds.map(JSONValue.number) ?? .null),
                            ("alsoReads", .array(pass.alsoReads.map(JSONValue.string))),
                        ])
                    })
            ),
            (
                "otherChecks",
                .array(
                    otherChecks.map {
                        .object([("check", .string($0.check)), ("collection", $0.collection.map(JSONValue.string) ?? .null), ("needs", .string($0.needs))])
                    })
            ),
        ])
    }

    package var text: String {
        var lines = [
            "plan of the audit of \"\(Escape.terminal(database))\" (no document read beyond a calibration read of \(Self.calibrationDocuments) per collection):"
        ]
        for pass in passes {
            guard pass.exists else {
                lines.append("  \(Escape.terminal(pass.collection)): does not exist (\(pass.checks.joined(separator: ", ")) will report it)")
                continue
            }
            let estimate = pass.estimatedSeconds.map { String(format: ", about %.2f s", $0) } ?? ""
            lines.append(
                "  \(Escape.terminal(pass.collection)): one pass for \(pass.checks.joined(separator: ", ")): reads \(pass.documentsToRead) of \(pass.documents) documents"
                    + "\(pass.sampled ? " (random sample)" : "")" + String(format: " (%.1f MB)", Double(pass.bytes) / 1_048_576) + estimate)
            lines.append("    fields: \(pass.fields.map { Escape.terminal($0.joined(separator: ", ")) } ?? "whole documents")")
            for read in pass.alsoReads { lines.append("    also: \(Escape.terminal(read))") }
        }
        for step in otherChecks {
            lines.append("  \(step.check)\(step.collection.map { " on \(Escape.terminal($0))" } ?? ""): \(Escape.terminal(step.needs))")
        }
        let total = passes.compactMap(\.estimatedSeconds).reduce(0, +)
        lines.append(
            String(format: "estimated time of the passes: %.2f s, one after another", total) + (scansAtOnce > 1 ? " (up to \(scansAtOnce) run at once)" : ""))
        return lines.joined(separator: "\n") + "\n"
    }
}

extension Auditor {
    /// The plan of this audit on `database`: metadata, one calibration read per collection, nothing else.
    package func plan(on client: MongoClient, database name: String) throws -> AuditPlan {
        let context = AuditContext(database: client.database(name), maxTimeMS: maxTimeMS, readPreference: scanOptions.readPreference)
        let names = Set(try context.collections().map(\.name))
        var passes: [AuditPlan.Pass] = []
        for group in arrangePasses(context: context) {
            let collection = group.collection
            let checks = group.entries.map { $0.configured.check as! any DocumentCheck }
            let described = group.entries.map(\.configured.identifier) + group.riders.map(\.purpose)
            guard names.contains(collection) else {
                passes.append(
                    AuditPlan.Pass(
                        collection: collection, checks: described, exists: false, documents: 0, bytes: 0, fields: nil,
                        documentsToRead: 0, sampled: false, documentsPerSecond: nil))
                continue
            }
            let stats = try context.database.firstBatch(of: [
                "aggregate": .string(collection), "pipeline": [["$collStats": ["storageStats": [:]]]], "cursor": [:],
            ]).first?["storageStats"]?.documentValue
            let documents = stats?["count"]?.intValue ?? 0
            let toRead = group.sampleSize.map { min($0, documents) } ?? documents
            let fields = checks.contains { $0.readsWholeDocuments } ? nil : CollectionScan.pathsRead(by: checks, riders: group.riders)
            var pass = AuditPlan.Pass(
                collection: collection, checks: described, exists: true, documents: documents,
                bytes: stats?["size"]?.intValue ?? 0, fields: fields, documentsToRead: toRead, sampled: toRead < documents,
                documentsPerSecond: try calibrate(context.database.collection(collection), fields: fields, context: context))
            pass.alsoReads = checks.compactMap { $0.readsBeyondItsPass(documents: toRead) }
            passes.append(pass)
        }
        let others = spec.checks.filter { !($0.check is any DocumentCheck) }.map {
            AuditPlan.Step(check: $0.identifier, collection: $0.check.collection, needs: type(of: $0.check).description.needs)
        }
        var plan = AuditPlan(database: name, passes: passes, otherChecks: others)
        plan.scansAtOnce = parallelScans
        return plan
    }

    /// Reads a few thousand documents as the pass would (projected) and times it.
    private func calibrate(_ collection: MongoCollection, fields: [String]?, context: AuditContext) throws -> Double? {
        let projection = CollectionScan.projection(of: fields)
        let started = DispatchTime.now().uptimeNanoseconds
        var read = 0
        try collection.find(
            options: FindOptions(
                projection: projection, limit: AuditPlan.calibrationDocuments, maxTimeMS: context.maxTimeMS, readPreference: context.readPreference)
        ) { cursor in
            try cursor.forEachView { _ in read += 1 }
        }
        guard read > 0 else { return nil }
        return Double(read) / max(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9, 1e-6)
    }
}
