import Foundation
import MongoKit
import ScanKernel
import SpecSupport

/// How complete each declared field is: present, null, and of the expected BSON types, against a
/// threshold per field; and which fields documents carry that the spec does not declare.
public struct FieldCompletenessCheck: DocumentCheck {
    public static let description = CheckDescription(
        identifier: "field_completeness",
        name: "Field completeness",
        summary: "Per declared field (dotted paths): how many documents have it present, null, or of another "
            + "type than expected, against a minimum share of complete documents; plus the most frequent "
            + "top-level fields the spec does not declare.",
        defaultSeverity: .medium,
        needs: "find on the collection (the read role); one shared pass",
        options: [Options.collection, Options.fields, Options.undeclaredTop],
        metrics: [
            .worseDown("complete", .documents), .worseUp("missing", .documents), .worseUp("null", .documents),
            .worseUp("wrongType", .documents), .notCompared("minComplete", .share),
        ])

    enum Options {
        static let collection = TypedOption<String>.collection("the collection to scan")
        static let fields = TypedOption<[FieldRule]>(
            "fields", type: "mapping",
            "field path -> {types: [string, date, int, long, double, number, ...], "
                + "min_complete: share 0..1 of documents where it is present, not null and of those types (default 1)}",
            required: true
        ) { node in
            let entries = try node.mapping()
            guard !entries.isEmpty else { throw node.error("declare at least one field") }
            return try entries.map { entry in
                try entry.value.validateFieldPath(entry.key)
                let fields = try entry.value.fields(allowed: ["types", "min_complete"])
                return FieldRule(
                    path: entry.key, types: try fields["types"].map(FieldCompletenessCheck.readTypes),
                    minComplete: try fields["min_complete"].map { try $0.share() } ?? 1)
            }
        }
        static let undeclaredTop = TypedOption<Int>.integer(
            "undeclared_top", "report the N most frequent undeclared top-level fields (default 10, 0 = off)", in: 0...10_000)
    }

    public static let examples = [
        CheckExample(
            "every document has a string uuid", setup: [["insert": "recordings", "documents": [["uuid": "a"], ["uuid": "b"]]]],
            entry: "collection: recordings\nfields: {uuid: {types: [string]}}\nundeclared_top: 0"),
        CheckExample(
            "one uuid is null and one is a number",
            setup: [["insert": "recordings", "documents": [["uuid": "a"], ["uuid": .null], ["uuid": 7], ["uuid": "d"]]]],
            entry: "collection: recordings\nfields: {uuid: {types: [string], min_complete: 0.9}}",
            expect: [ExpectedFinding("recordings/incomplete_field/uuid", .medium, ["complete": 2, "null": 1, "wrongType": 1, "missing": 0])]),
        CheckExample(
            "a 99% threshold tolerates one missing value in two hundred",
            setup: [["insert": "recordings", "documents": .array((0..<200).map { $0 == 0 ? ["x": 1] : ["n": .int32(Int32($0))] })]],
            entry: "collection: recordings\nfields: {n: {types: [int], min_complete: 0.99}}\nundeclared_top: 0"),
    ]

    struct FieldRule: Sendable {
        let path: String
        let types: Set<BSONType>?
        let minComplete: Double
    }

    let collectionName: String
    let rules: [FieldRule]
    let undeclaredTop: Int
    public var collection: String? { collectionName }
    public var fieldsRead: [String] { rules.map(\.path) }
    public var readsWholeDocuments: Bool { undeclaredTop > 0 }

    public init(options: SpecFields) throws {
        collectionName = try options.required(Options.collection)
        rules = try options.required(Options.fields)
        undeclaredTop = try options.value(Options.undeclaredTop, default: 10)
    }

    /// BSON type aliases as `$type` takes them, plus `number` for every numeric type.
    static func readTypes(_ node: SpecNode) throws -> Set<BSONType> {
        var types = Set<BSONType>()
        for item in try node.array() {
            let alias = try item.string()
            if alias == "number" {
                types.formUnion([.int32, .int64, .double, .decimal128])
            } else if let type = BSONType(alias: alias) {
                types.insert(type)
            } else {
                throw item.error("unknown BSON type '\(alias)'; expected number or one of \(BSONType.allCases.map(\.alias).joined(separator: ", "))")
            }
        }
        guard !types.isEmpty else { throw node.error("the list must not be empty") }
        return types
    }

    public func makeAccumulator(context: AuditContext, fields: FieldReader, expectedDocuments: Int) -> any DocumentAccumulator {
        Accumulator(check: self, slots: rules.map { fields.index(of: $0.path)! }, reader: fields)
    }

    final class Accumulator: DocumentAccumulator {
        struct Counts {
            var present = 0
            var null = 0
            var wrongType = 0
        }
        let check: FieldCompletenessCheck
        // The per-document loop reads and updates only manually allocated tables: Swift arrays (of arrays)
        // there cost a retain and release or a uniqueness check per access. Every one is freed in deinit.
        private let ruleCount: Int
        private let slots: UnsafeMutablePointer<Int>
        /// Per rule, 256 entries by BSON type number: whether the type is expected (all true without declared types).
        private let allowed: UnsafeMutablePointer<Bool>
        /// Per rule.
        let counts: UnsafeMutablePointer<Counts>
        let examples: AccumulatorState<[Examples]>
        private let countsKeys: Bool
        private let keys = AccumulatorState(KeyTotals())
        /// Documents holding each top-level field in merged parts, by name (nil: names beyond a reader's limit).
        var mergedKeyTotals: [String?: Int] = [:]
        let reader: FieldReader

        init(check: FieldCompletenessCheck, slots: [Int], reader: FieldReader) {
            self.check = check
            self.reader = reader
            ruleCount = check.rules.count
            self.slots = .allocate(capacity: max(slots.count, 1))
            self.slots.initialize(from: slots, count: slots.count)
            allowed = .allocate(capacity: max(ruleCount, 1) * 256)
            for (index, rule) in check.rules.enumerated() {
                for type in 0..<256 {
                    (allowed + index * 256 + type).initialize(
                        to: rule.types.map { types in BSONType(rawValue: UInt8(type)).map(types.contains) ?? false } ?? true)
                }
            }
            counts = .allocate(capacity: max(ruleCount, 1))
            counts.initialize(repeating: Counts(), count: ruleCount)
            examples = AccumulatorState(Array(repeating: Examples(), count: ruleCount))
            countsKeys = check.undeclaredTop > 0
        }

        deinit {
            slots.deallocate()
            allowed.deallocate()
            counts.deallocate()
        }

        /// As the server's `$exists` and `$type` see a path: it is present when it reaches any value (an
        /// array, even empty, included); complete when one of the values it reaches (an array itself, or one
        /// of its elements) is of a declared type (without declared types: is not null or undefined); null
        /// when every value it reaches is null or undefined; of another type otherwise. So `tags: ["a"]`
        /// is complete for `types: [string]` and for `types: [array]`, and `tags: []` only for `array`.
        func visit(_ document: DocumentView, fields: FieldReader) {
            for index in 0..<ruleCount {
                let slot = slots[index]
                let count = fields.valueCount(slot)
                guard count > 0 else {
                    examples.update { $0[index].add(fields) }
                    continue
                }
                counts[index].present += 1
                let table = allowed + index * 256
                var complete = false
                var onlyNull = true
                for position in 0..<count {
                    let type = fields.raw(slot, position).type
                    if type != 0x0A && type != 0x06 {
                        onlyNull = false
                        if table[Int(type)] {
                            complete = true
                            break
                        }
                    }
                }
                if onlyNull {
                    counts[index].null += 1
                    examples.update { $0[index].add(fields) }
                } else if !complete {
                    counts[index].wrongType += 1
                    examples.update { $0[index].add(fields) }
                }
            }
            if countsKeys { keys.update { $0.count(fields) } }
        }

        /// Documents holding each top-level field, by the reader's key id, counted by runs: the key ids
        /// (each counted once) of the last documents visited, which all had the same fields; how many they
        /// were; and the reader's load number of the last one. A run is added to `totals` when a document
        /// with other fields comes, or the totals are read.
        struct KeyTotals {
            private(set) var totals = [Int](repeating: 0, count: 64)
            private var runKeys: [Int] = []
            private var runLength = 0
            private var runLoad = -2

            mutating func count(_ fields: FieldReader) {
                if fields.keyIDsRepeat && fields.loadNumber == runLoad + 1 {
                    // The same fields as the document before: counted once the run ends.
                    runLength += 1
                    runLoad += 1
                    return
                }
                endRun()
                // Documents, not occurrences: the shared bucket of names beyond the limit counts a document once.
                let otherKeyID = fields.otherKeyID
                var otherCounted = false
                for id in fields.keyIDs {
                    if id == otherKeyID {
                        if otherCounted { continue }
                        otherCounted = true
                    }
                    if id >= totals.count { totals += repeatElement(0, count: max(totals.count, id + 1 - totals.count)) }
                    runKeys.append(id)
                }
                runLength = 1
                runLoad = fields.loadNumber
            }

            /// Adds the run of documents with the same fields to the totals.
            mutating func endRun() {
                for id in runKeys { totals[id] += runLength }
                runKeys.removeAll(keepingCapacity: true)
                runLength = 0
                runLoad = -2
            }
        }

        func merge(_ other: any DocumentAccumulator) {
            let other = mergeable(other)
            precondition(other.ruleCount == ruleCount, "merge: accumulators of different field_completeness checks")
            for index in 0..<ruleCount {
                counts[index].present += other.counts[index].present
                counts[index].null += other.counts[index].null
                counts[index].wrongType += other.counts[index].wrongType
                examples.update { $0[index].merge(other.examples.value[index]) }
            }
            // Key ids are the other reader's own: carry the counts over by name.
            for (name, total) in other.namedKeyTotals() { mergedKeyTotals[name, default: 0] += total }
        }

        /// Documents holding each top-level field, by name (nil: the shared bucket beyond the reader's name
        /// limit), this pass's and the merged parts'.
        func namedKeyTotals() -> [String?: Int] {
            let keyTotals = keys.update { keys in
                keys.endRun()
                return keys.totals
            }
            var totals = mergedKeyTotals
            for (id, total) in keyTotals.enumerated() where total > 0 { totals[reader.keyName(id), default: 0] += total }
            return totals
        }

        func output(severity: Severity, scan: ScanSummary, context: AuditContext) throws -> CheckOutput {
            var findings = try check.collectionFindings(check.collectionName, documents: scan.scanned, severity: severity, context: context)
            var completeness: Metrics = [:]
            for (index, rule) in check.rules.enumerated() {
                let count = counts[index]
                let complete = count.present - count.null - count.wrongType
                let share = scan.share(complete)
                completeness[rule.path] = scan.proportion(complete)
                guard share < rule.minComplete else { continue }
                var metrics: Metrics = [
                    "complete": scan.proportion(complete), "missing": scan.proportion(scan.scanned - count.present),
                    "null": scan.proportion(count.null),
                ]
                var facts: [(name: String, text: String)] = []
                if let types = rule.types {
                    metrics["wrongType"] = scan.proportion(count.wrongType)
                    facts.append(("expectedTypes", types.map(\.alias).sorted().joined(separator: ", ")))
                }
                metrics["minComplete"] = .value(rule.minComplete)
                findings.append(
                    check.finding(
                        "incomplete_field", subject: rule.path, severity: severity,
                        title: "field '\(rule.path)' is complete in \(percent(share)) of documents (required \(percent(rule.minComplete)))",
                        impact: "Code and reports that rely on '\(rule.path)' skip or mishandle the incomplete documents.",
                        metrics: metrics, examples: examples.value[index].ids, facts: facts))
            }
            findings.append(
                check.finding(
                    "completeness", severity: .info,
                    title: "completeness of declared fields over \(scan.scanned) documents\(scan.sampled ? " (sample)" : "")",
                    impact: "For reference: the share of documents where each field is present, not null and of the expected type.",
                    metrics: completeness))
            let declared = Set(check.rules.map { $0.path.split(separator: ".").first.map(String.init) ?? $0.path } + ["_id"])
            let undeclared = namedKeyTotals().map { (key: $0.key ?? "(other field names)", value: $0.value) }
                .filter { !declared.contains($0.key) }.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
            if check.undeclaredTop > 0 && !undeclared.isEmpty {
                var present: Metrics = [:]
                for entry in undeclared.prefix(check.undeclaredTop) { present[entry.key] = scan.proportion(entry.value) }
                findings.append(
                    check.finding(
                        "undeclared_fields", severity: .info,
                        title: "\(undeclared.count) top-level field(s) not declared in the spec",
                        impact: "Undeclared fields are not checked for completeness; declare the ones that matter.",
                        metrics: present))
            }
            return CheckOutput(findings: findings, metrics: ["fieldsDeclared": .count(check.rules.count)])
        }
    }
}

extension FieldCompletenessCheck {
    /// Each top-level field with the types seen, required complete a little under what is seen.
    public static func starterEntries(_ input: StarterInput) throws -> [StarterEntry] {
        guard let collection = input.collection, !input.fields.isEmpty else { return [] }
        let total = input.documents
        var comments: [String] = []
        var fields: [(String, StarterValue)] = []
        for (i, field) in input.fields.enumerated() {
            let complete = input.exact?.complete[i] ?? (field.present - field.null)
            let share = total == 0 ? 0 : Double(complete) / Double(total)
            let minimum = max(0, (share * 100).rounded(.down) / 100 - 0.01)
            fields.append(
                (
                    field.path,
                    .options(
                        [("types", .list(field.nonNullTypes.map(StarterValue.plain), flow: true)), ("min_complete", .plain(String(format: "%.2f", minimum)))],
                        flow: true)
                ))
            comments.append("\(field.path): " + String(format: "complete in %.2f%% (%d of %d)", share * 100, complete, total))
        }
        return [
            StarterEntry(
                comments: comments,
                [("collection", .text(collection.collection)), ("fields", .data(fields, flow: false)), ("undeclared_top", .plain("10"))])
        ]
    }
}
