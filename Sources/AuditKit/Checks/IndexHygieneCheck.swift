import Foundation
import MongoKit
import SpecSupport

/// Indexes that cost writes and memory without serving reads: unused since a warm-up period (on every
/// member), redundant prefixes of another index, hidden ones, and more indexes than a limit. It never
/// suggests dropping the `_id`, a unique or a TTL index.
public struct IndexHygieneCheck: Check {
    public static let description = CheckDescription(
        identifier: "index_hygiene",
        name: "Index hygiene",
        summary: "Indexes unused on every data-bearing member since statistics began at least the warm-up ago "
            + "($indexStats), indexes whose keys are a prefix of another index, hidden indexes, and more indexes "
            + "than a limit. _id, unique and TTL indexes are never proposed for dropping.",
        defaultSeverity: .low,
        needs: "$indexStats and listIndexes on the collection (the read role covers both), on each member",
        options: [Options.collection, Options.maxIndexes, Options.warmupDays],
        metrics: [
            .worseUp("indexes", .indexes), .notCompared("maxIndexes", .indexes), .notCompared("operations", .queries),
            .notCompared("members", .values),
        ])

    enum Options {
        static let collection = TypedOption<String>.collection("the collection")
        static let maxIndexes = TypedOption<Int>.integer("max_indexes", "more indexes than this is a finding (default 20)", in: 1...1000)
        static let warmupDays = TypedOption<Double>.number(
            "warmup_days", "an index counts as unused only if its statistics cover at least this many days (default 7)", in: 0...36_500)
    }

    public static let examples = [
        CheckExample(
            "two distinct indexes", setup: [CriticalIndexesCheck.createIndexes(["uuid", "start_time"])],
            entry: "collection: recordings"),
        CheckExample(
            "an index that is a prefix of another",
            setup: [
                [
                    "createIndexes": "recordings",
                    "indexes": [["key": ["start_time": 1], "name": "st"], ["key": ["start_time": 1, "site": 1], "name": "st_site"]],
                ]
            ],
            entry: "collection: recordings", expect: [ExpectedFinding("recordings/redundant_prefix/st", .low)]),
        CheckExample(
            "more indexes than allowed", setup: [CriticalIndexesCheck.createIndexes(["a", "b", "c"])],
            entry: "collection: recordings\nmax_indexes: 3", expect: [ExpectedFinding("recordings/too_many_indexes", .low, ["indexes": 4])]),
    ]

    let collectionName: String
    let maxIndexes: Int
    let warmupDays: Double
    public var collection: String? { collectionName }

    public init(collection: String, maxIndexes: Int = 20, warmupDays: Double = 7) {
        collectionName = collection
        self.maxIndexes = maxIndexes
        self.warmupDays = warmupDays
    }

    public init(options: SpecFields) throws {
        self.init(
            collection: try options.required(Options.collection), maxIndexes: try options.value(Options.maxIndexes, default: 20),
            warmupDays: try options.value(Options.warmupDays, default: 7))
    }

    /// Usage of one index summed over the members that reported it.
    struct Usage {
        var operations = 0
        var oldestSince: Date?
        var members: [String] = []
    }

    public func run(in context: AuditContext, severity: Severity) throws -> CheckOutput {
        let indexes = try context.indexes(of: collectionName)
        var findings: [Finding] = []
        let dropCommand = { (name: String) in
            context.shellCommand(["dropIndexes": .string(self.collectionName), "index": .string(name)])
        }
        let droppable = { (index: IndexSpec) in !index.isIDIndex && !index.unique && index.expireAfterSeconds == nil }

        let usage = try indexUsage(context: context)
        let warmupStart = context.now.addingTimeInterval(-warmupDays * 86_400)
        for index in indexes where droppable(index) {
            guard let used = usage[index.name], used.operations == 0, let since = used.oldestSince, since <= warmupStart else {
                continue
            }
            findings.append(
                finding(
                    "unused_index", subject: index.name, severity: severity,
                    title: "index '\(index.name)' has not been used since \(ISO8601DateFormatter().string(from: since))",
                    impact: "An unused index slows every write and takes memory; drop it if no rare query needs it.",
                    fix: dropCommand(index.name), metrics: ["operations": .count(used.operations), "members": .count(used.members.count)],
                    facts: [("members", used.members.joined(separator: ", "))]))
        }

        for index in indexes where droppable(index) {
            guard let wider = indexes.first(where: { index.isRedundantPrefix(of: $0) }) else { continue }
            findings.append(
                finding(
                    "redundant_prefix", subject: index.name, severity: severity,
                    title: "index '\(index.name)' is a prefix of '\(wider.name)' and redundant",
                    impact: "'\(wider.name)' serves every query '\(index.name)' serves; the extra index costs writes and memory.",
                    fix: dropCommand(index.name), facts: [("servedBy", wider.name)]))
        }

        for index in indexes where index.hidden {
            findings.append(
                finding(
                    "hidden_index", subject: index.name, severity: severity,
                    title: "index '\(index.name)' is hidden",
                    impact: "A hidden index is still maintained on every write but never used; unhide it or drop it.",
                    fix: context.shellCommand(["collMod": .string(collectionName), "index": ["name": .string(index.name), "hidden": false]])))
        }

        if indexes.count > maxIndexes {
            findings.append(
                finding(
                    "too_many_indexes", severity: severity,
                    title: "\(indexes.count) indexes, more than the limit of \(maxIndexes)",
                    impact: "Every index slows inserts and updates and competes for cache.",
                    metrics: ["indexes": .count(indexes.count), "maxIndexes": .count(maxIndexes)],
                    facts: [("indexes", indexes.map(\.name).joined(separator: ", "))]))
        }
        return CheckOutput(findings: findings, metrics: ["indexes": .count(indexes.count)])
    }

    /// `$indexStats` read on every data-bearing member, since each member counts only its own accesses.
    func indexUsage(context: AuditContext) throws -> [String: Usage] {
        let client = context.database.client
        var usage: [String: Usage] = [:]
        let command: Document = [
            "aggregate": .string(collectionName), "pipeline": [["$indexStats": [:]]], "cursor": [:],
            "maxTimeMS": .int64(Int64(context.maxTimeMS)),
        ]
        for server in client.servers() where server.holdsData {
            let reply = try client.runCommand(command, database: context.database.name, onServer: server.id)
            for entry in reply.value(at: "cursor.firstBatch")?.arrayValue ?? [] {
                guard let stats = entry.documentValue, let name = stats["name"]?.stringValue else { continue }
                var current = usage[name] ?? Usage()
                current.operations += stats.value(at: "accesses.ops")?.intValue ?? 0
                if let since = stats.value(at: "accesses.since")?.dateValue {
                    current.oldestSince = current.oldestSince.map { min($0, since) } ?? since
                }
                current.members.append(server.address)
                usage[name] = current
            }
        }
        return usage
    }
}
