import Foundation
import MongoKit
import SpecSupport

/// The number of documents of a collection must lie within bounds: an ingest that stopped, a purge that
/// ran wild or a job that writes twice shows here.
public struct VolumeCheck: Check {
    public static let description = CheckDescription(
        identifier: "volume",
        name: "Volume",
        summary: "The collection's document count lies within `min` and `max` (either or both). The count is exact "
            + "(a count over the collection under the time limit) or, with `estimate: true`, read from the collection's "
            + "metadata (instant, but approximate after an unclean shutdown and on sharded clusters with orphans).",
        defaultSeverity: .high,
        needs: "count on the collection (the read role); the exact count reads the _id index or the collection",
        options: [Options.collection, Options.min, Options.max, Options.estimate],
        metrics: [
            .notCompared("documents", .documents), .notCompared("min", .documents), .notCompared("max", .documents),
            .worseUp("shortfall", .documents), .worseUp("excess", .documents),
        ])

    enum Options {
        static let collection = TypedOption<String>.collection("the collection whose documents are counted")
        static let min = TypedOption<Int>.integer("min", "fewer documents than this is a finding", in: 0...Int(Int64.max))
        static let max = TypedOption<Int>.integer("max", "more documents than this is a finding", in: 0...Int(Int64.max))
        static let estimate = TypedOption<Bool>.flag("estimate", "count from the collection's metadata instead of counting (default false)")
    }

    public static let examples = [
        CheckExample(
            "three documents, allowed one to ten", setup: [["insert": "events", "documents": [["a": 1], ["a": 2], ["a": 3]]]],
            entry: "collection: events\nmin: 1\nmax: 10"),
        CheckExample(
            "three documents, at least five wanted", setup: [["insert": "events", "documents": [["a": 1], ["a": 2], ["a": 3]]]],
            entry: "collection: events\nmin: 5", expect: [ExpectedFinding("events/too_few", .high, ["documents": 3, "min": 5, "shortfall": 2])]),
        CheckExample(
            "three documents by the metadata, at most two allowed",
            setup: [["insert": "events", "documents": [["a": 1], ["a": 2], ["a": 3]]]],
            entry: "collection: events\nmax: 2\nestimate: true", expect: [ExpectedFinding("events/too_many", .high, ["documents": 3, "max": 2, "excess": 1])]),
    ]

    let collectionName: String
    let minimum: Int?
    let maximum: Int?
    let estimate: Bool
    public var collection: String? { collectionName }

    public init(options: SpecFields) throws {
        collectionName = try options.required(Options.collection)
        minimum = try options.value(Options.min)
        maximum = try options.value(Options.max)
        estimate = try options.value(Options.estimate, default: false)
        guard minimum != nil || maximum != nil else {
            throw options.owner.error("give min, max or both: a count without bounds checks nothing")
        }
        if let minimum, let maximum, minimum > maximum {
            throw try options.required(Options.max.declaration.name).error("max (\(maximum)) is below min (\(minimum))")
        }
    }

    public func run(in context: AuditContext, severity: Severity) throws -> CheckOutput {
        let documents: Int
        if estimate {
            // A count without a query answers from the collection's metadata.
            let reply = try context.database.runCommand(
                ["count": .string(collectionName)], readPreference: context.readPreference, maxTimeMS: context.maxTimeMS)
            // The metadata can be off after an unclean shutdown (older servers even answered below zero): a
            // reply without a whole count is not trusted, and a negative one counts as none, so the figures
            // below (bounds are at least zero) cannot overflow.
            if let n = reply["n"]?.intValue {
                documents = max(0, n)
            } else {
                documents = try context.database.collection(collectionName).countDocuments(maxTimeMS: context.maxTimeMS, readPreference: context.readPreference)
            }
        } else {
            documents = try context.database.collection(collectionName).countDocuments(maxTimeMS: context.maxTimeMS, readPreference: context.readPreference)
        }
        let how = estimate ? "about " : ""
        var findings: [Finding] = []
        if let minimum, documents < minimum {
            findings.append(
                finding(
                    "too_few", severity: severity, title: "'\(collectionName)' holds \(how)\(documents) document(s), fewer than \(minimum)",
                    impact: "Documents that should be there are not: an ingest may have stopped or a purge gone too far.",
                    metrics: ["documents": .count(documents), "min": .count(minimum), "shortfall": .count(minimum - documents)]))
        }
        if let maximum, documents > maximum {
            findings.append(
                finding(
                    "too_many", severity: severity, title: "'\(collectionName)' holds \(how)\(documents) document(s), more than \(maximum)",
                    impact: "More documents than expected: a job may write twice or old documents are no longer removed.",
                    metrics: ["documents": .count(documents), "max": .count(maximum), "excess": .count(documents - maximum)]))
        }
        return CheckOutput(findings: findings, metrics: ["documents": .count(documents)])
    }
}
