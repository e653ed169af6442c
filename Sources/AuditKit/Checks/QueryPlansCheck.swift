import Foundation
import MongoKit
import SpecSupport
import TextEscaping

/// Declared query shapes must use an index, and their round trip (and that of `ping`) must stay fast.
public struct QueryPlansCheck: Check {
    public static let description = CheckDescription(
        identifier: "query_plans",
        name: "Query plans and latency",
        summary: "For each declared query (filter, optional sort), explain must show an index scan rather than a "
            + "collection scan; the query is executed once under the time limit (keys and documents examined per document "
            + "returned are reported) unless its plan scans a collection of more than 10,000 documents (in a sampled audit, "
            + "over its first 1,000 documents only, said so in the findings); "
            + "the 95th percentile round trip of the query (first 100 documents) and of ping must stay under the limit "
            + "(reported above the target). Only index-served queries, or those on collections of at most 10,000 "
            + "documents, are timed, a query stops being timed at its first run over the limit, and all timing "
            + "stops at the check's budget.",
        defaultSeverity: .high,
        needs: "find and explain on the collection (the read role)",
        options: [Options.collection, Options.queries, Options.targetMS, Options.limitMS, Options.runs, Options.budgetMS],
        metrics: [
            .worseUp("p50Ms", .milliseconds), .worseUp("p95Ms", .milliseconds), .worseUp("maxMs", .milliseconds), .notCompared("runs", .runs),
            .notCompared("targetMs", .milliseconds), .notCompared("limitMs", .milliseconds), .notCompared("keysExamined", .values),
            .notCompared("docsExamined", .documents), .notCompared("returned", .documents), .notCompared("docsExaminedPerReturned", .documents),
            .notCompared("executionMs", .milliseconds), .notCompared("executionLimit", .documents),
        ])

    enum Options {
        static let collection = TypedOption<String>.collection("the collection queried")
        static let queries = TypedOption<[Query]>("queries", type: "list", "each {name, filter: Extended JSON mapping, sort?: mapping}", required: true) {
            node in
            try node.nonEmptyList { entry in
                let fields = try entry.fields(allowed: ["name", "filter", "sort"])
                return Query(
                    name: try fields.required("name").string(), filter: try fields.required("filter").extendedJSONDocument(),
                    sort: try fields["sort"]?.extendedJSONDocument())
            }
        }
        static let targetMS = TypedOption<Double>.number(
            "target_ms", "round trip above this is reported at low severity (default 50)", in: 0.001...3_600_000)
        static let limitMS = TypedOption<Double>.number(
            "limit_ms", "round trip above this fails at the check's severity (default 100)", in: 0.001...3_600_000)
        static let runs = TypedOption<Int>.integer("runs", "measured runs per query after one warm-up run (default 10)", in: 1...1000)
        static let budgetMS = TypedOption<Double>.number(
            "budget_ms", "time the check may spend timing round trips; it stops starting runs past it (default 10000)", in: 1...3_600_000)
    }

    public static let examples = [
        CheckExample(
            "a query by an indexed field",
            setup: [CriticalIndexesCheck.createIndexes(["uuid"]), ["insert": "recordings", "documents": [["uuid": "a"]]]],
            entry: "collection: recordings\nqueries: [{name: by uuid, filter: {uuid: a}}]\nlimit_ms: 10000"),
        CheckExample(
            "a query that scans the collection", setup: [["insert": "recordings", "documents": [["uuid": "a"]]]],
            entry: "collection: recordings\nqueries: [{name: by uuid, filter: {uuid: a}}]\nlimit_ms: 10000",
            expect: [ExpectedFinding("recordings/collection_scan/by uuid")]),
        CheckExample(
            "round trips over a limit no server meets: one run over it is enough",
            setup: [CriticalIndexesCheck.createIndexes(["uuid"]), ["insert": "recordings", "documents": [["uuid": "a"]]]],
            entry: "collection: recordings\nqueries: [{name: by uuid, filter: {uuid: a}}]\ntarget_ms: 0.001\nlimit_ms: 0.001\nruns: 3",
            expect: [
                ExpectedFinding("recordings/query_latency/by uuid", .high, ["runs": 1, "limitMs": 0.001]),
                ExpectedFinding("recordings/ping_latency", .high, ["runs": 1]),
            ]),
    ]

    struct Query: Sendable {
        let name: String
        let filter: Document
        let sort: Document?
    }

    let collectionName: String
    let queries: [Query]
    let targetMS: Double
    let limitMS: Double
    let runs: Int
    let budgetMS: Double
    public var collection: String? { collectionName }

    public init(options: SpecFields) throws {
        collectionName = try options.required(Options.collection)
        queries = try options.required(Options.queries)
        targetMS = try options.value(Options.targetMS, default: 50)
        limitMS = try options.value(Options.limitMS, default: 100)
        guard targetMS <= limitMS else { throw try options.required("target_ms").error("must not exceed limit_ms (\(limitMS))") }
        runs = try options.value(Options.runs, default: 10)
        budgetMS = try options.value(Options.budgetMS, default: 10_000)
    }

    public func run(in context: AuditContext, severity: Severity) throws -> CheckOutput {
        let collection = context.database.collection(collectionName)
        let deadline = Date().addingTimeInterval(budgetMS / 1000)
        // Timing a query that scans the collection would scan it again on every run: only a small
        // collection, or a plan an index serves, is timed.
        let documents = try collection.estimatedDocumentCount()
        let small = documents <= Self.smallCollection
        var findings: [Finding] = []
        var timed = 0
        for query in queries {
            var find: Document = ["find": .string(collectionName), "filter": .document(query.filter)]
            if let sort = query.sort { find.append("sort", .document(sort)) }
            // The plan first; then one execution, under the time limit, says what the query costs the server,
            // unless the plan scans a large collection: that execution would read it all to say what the plan
            // already says, so its cost is the collection's size.
            let explain = { (command: Document, verbosity: String) in
                try context.database.runCommand(
                    ["explain": .document(command), "verbosity": .string(verbosity)], readPreference: context.readPreference,
                    maxTimeMS: context.maxTimeMS)
            }
            let planned = try explain(find, "queryPlanner")
            let winningPlan = planned.value(at: "queryPlanner.winningPlan")?.documentValue ?? Document()
            let stages = Self.planValues("stage", in: .document(winningPlan))
            let indexes = Self.planValues("indexName", in: .document(winningPlan))
            let scans = stages.contains("COLLSCAN")
            var cost: Metrics
            var costFacts: [(name: String, text: String)] = []
            if scans && !small {
                cost = ["docsExamined": .count(documents)]
            } else {
                // A sampled audit bounds what it reads: the execution stops after the query's first documents
                // (the examined-per-returned ratios of an index scan come out the same), and the findings say so.
                var executed = find
                if context.sampleSize != nil {
                    executed.append("limit", .int64(Int64(Self.sampledExecutionLimit)))
                    costFacts.append(("execution", Self.sampledExecutionFact))
                }
                let stats = try explain(executed, "executionStats")["executionStats"]?.documentValue ?? Document()
                let returned = stats["nReturned"]?.intValue ?? 0
                cost = [
                    "keysExamined": .count(stats["totalKeysExamined"]?.intValue ?? 0),
                    "docsExamined": .count(stats["totalDocsExamined"]?.intValue ?? 0), "returned": .count(returned),
                    "docsExaminedPerReturned": .value(Double(stats["totalDocsExamined"]?.intValue ?? 0) / Double(max(returned, 1))),
                    "executionMs": .value(Double(stats["executionTimeMillis"]?.intValue ?? 0)),
                ]
                if context.sampleSize != nil { cost["executionLimit"] = .count(Self.sampledExecutionLimit) }
            }
            if scans {
                let index = Self.servingIndex(for: query)
                findings.append(
                    finding(
                        "collection_scan", subject: query.name, severity: severity,
                        title: "query '\(query.name)' scans the whole collection (COLLSCAN)",
                        impact: "Every run reads every document; the query slows down as the collection grows.",
                        fix: index.map {
                            "create an index on the filtered fields: \(context.shellCollection(collectionName)).createIndex(\($0.relaxedJSON))"
                        },
                        metrics: cost,
                        facts: [("filter", query.filter.relaxedJSON), ("plan", stages.joined(separator: " > "))] + costFacts
                            + (index == nil
                                ? [
                                    (
                                        "index",
                                        "no single index serves this filter (top-level $or, $nor, $expr or $text); index each branch or rewrite the query"
                                    )
                                ]
                                : [])))
            }
            guard !scans || small, Date() < deadline else { continue }
            timed += 1
            let timings = try Self.measure(runs: runs, limitMS: limitMS, deadline: deadline) {
                try collection.find(
                    query.filter,
                    options: FindOptions(
                        sort: query.sort, limit: 100, maxTimeMS: context.maxTimeMS, readPreference: context.readPreference)
                ) { cursor in while try cursor.next() != nil {} }
            }
            findings += latencyFindings(
                "query", query.name, timings, severity: severity, context: context,
                plan: indexes.isEmpty ? stages.joined(separator: " > ") : "index \(indexes.joined(separator: ", "))", cost: cost,
                costFacts: costFacts)
        }
        let ping = try Self.measure(runs: runs, limitMS: limitMS, deadline: deadline.addingTimeInterval(1)) { try context.database.client.ping() }
        findings += latencyFindings("ping", nil, ping, severity: severity, context: context, plan: nil, cost: [:])
        return CheckOutput(
            findings: findings, metrics: ["queries": .count(queries.count), "queriesTimed": .count(timed), "runsPerQuery": .count(runs)])
    }

    /// Collections up to this many documents are timed even when a query scans them.
    static let smallCollection = 10_000

    /// In a sampled audit, the one execution of a query stops after this many documents returned.
    static let sampledExecutionLimit = 1_000
    static let sampledExecutionFact =
        "sampled audit: executed over its first \(sampledExecutionLimit) documents only (a whole audit executes it in full)"

    /// The round-trip finding of a query (named) or of ping (no name).
    private func latencyFindings(
        _ what: String, _ name: String?, _ timings: Percentiles, severity: Severity, context: AuditContext, plan: String?, cost: Metrics,
        costFacts: [(name: String, text: String)] = []
    ) -> [Finding] {
        var metrics: Metrics = [
            "p50Ms": .value(timings.p50), "p95Ms": .value(timings.p95), "maxMs": .value(timings.max), "runs": .count(timings.runs),
            "targetMs": .value(targetMS), "limitMs": .value(limitMS),
        ]
        for entry in cost.entries { metrics[entry.name] = entry.metric }
        let level: Severity = timings.p95 > limitMS ? severity : timings.p95 > targetMS ? .low : .info
        let verdict =
            timings.p95 > limitMS ? "over the \(Int(limitMS)) ms limit" : timings.p95 > targetMS ? "over the \(Int(targetMS)) ms target" : "within target"
        return [
            finding(
                name == nil ? "ping_latency" : "query_latency", subject: name, severity: level,
                title: String(format: "%@ round trip p95 %.1f ms, %@", name.map { "\(what) '\($0)'" } ?? what, timings.p95, verdict),
                impact: "Slow round trips add up in every request that makes them.", metrics: metrics,
                facts: (plan.map { [("plan", $0)] } ?? []) + costFacts)
        ]
    }

    /// The index that serves a query: its filtered fields (equality first, in the filter's order) then its
    /// sort keys. Nil when the filter is not a conjunction of fields, which no single index serves.
    static func servingIndex(for query: Query) -> Document? {
        let fields = query.filter.keys
        guard !fields.isEmpty, fields.allSatisfy({ !$0.hasPrefix("$") }) else { return nil }
        var keys = fields.map { ($0, BSONValue.int32(1)) }
        for (field, direction) in query.sort?.elements ?? [] where !fields.contains(field) {
            keys.append((field, direction.intValue.map { .int32($0 < 0 ? -1 : 1) } ?? .int32(1)))
        }
        return Document(keys)
    }

    struct Percentiles {
        let p50: Double
        let p95: Double
        let max: Double
        /// The runs measured: fewer than asked when one went over the limit or the budget ran out.
        let runs: Int
    }

    /// Times `body` once to warm caches and connections, then up to `runs` times, stopping after the first
    /// run over `limitMS` (one is enough to know) or at `deadline`; in milliseconds.
    static func measure(runs: Int, limitMS: Double, deadline: Date, _ body: () throws -> Void) throws -> Percentiles {
        try body()
        var samples: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000_000)
            if samples.last! > limitMS || Date() >= deadline { break }
        }
        samples.sort()
        func at(_ q: Double) -> Double { samples[min(samples.count - 1, Int((q * Double(samples.count - 1)).rounded(.up)))] }
        return Percentiles(p50: at(0.5), p95: at(0.95), max: samples.last ?? 0, runs: samples.count)
    }

    /// Every text under `key` in an explain plan tree (classic `inputStage(s)` and SBE `queryPlan` alike),
    /// e.g. the `stage` names or the `indexName`s.
    static func planValues(_ key: String, in value: BSONValue) -> [String] {
        switch value {
        case .document(let document):
            var result = document[key]?.stringValue.map { [$0] } ?? []
            for (name, child) in document.elements where name != key { result += planValues(key, in: child) }
            return result
        case .array(let items): return items.flatMap { planValues(key, in: $0) }
        default: return []
        }
    }
}

extension QueryPlansCheck {
    /// One equality query per indexed single field, on a value that exists.
    public static func starterEntries(_ input: StarterInput) throws -> [StarterEntry] {
        guard let collection = input.collection else { return [] }
        let handle = input.database.collection(collection.collection)
        var queries: [StarterValue] = []
        for index in input.indexes
        where index.keys.count == 1 && ["1", "-1"].contains(index.keys[0].kind) && index.partialFilterExpression == nil
            && index.collation == nil && !index.hidden && index.keys[0].field != "_id"  // every collection's own
        {
            let field = index.keys[0].field
            guard let value = try existingValue(handle, field: field, maxTimeMS: input.spec.timeLimit) else { continue }
            let filter: Document = [field: value]
            queries.append(.options([("name", .text("by \(field)")), ("filter", .json(filter.extendedJSON))], flow: false))
        }
        guard !queries.isEmpty else { return [] }
        return [
            StarterEntry(
                comments: ["limit_ms is generous: the plan is the point"],
                [
                    ("collection", .text(collection.collection)), ("target_ms", .plain("1000")), ("limit_ms", .plain("2000")),
                    ("queries", .list(queries, flow: false)),
                ])
        ]
    }

    private static func existingValue(_ collection: MongoCollection, field: String, maxTimeMS: Int?) throws -> BSONValue? {
        try collection.find(
            [field: ["$exists": true, "$ne": .null]],
            options: FindOptions(projection: CollectionScan.projection(ofField: field, keepingID: false), limit: 1, maxTimeMS: maxTimeMS)
        ) { cursor in
            guard let document = try cursor.next(), let value = document.value(at: field) else { return nil }
            if case .array = value { return nil }
            if case .document = value { return nil }
            return value
        }
    }
}
