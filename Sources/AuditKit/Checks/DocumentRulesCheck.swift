import Foundation
import MongoKit
import ScanKernel
import SpecSupport
import TextEscaping

/// Rules that are query filters every document of a collection must match (or must not match), evaluated
/// in the shared pass by `QueryMatcher`, which follows the server's query semantics; an operator it does
/// not evaluate exactly is refused when the spec loads.
public struct DocumentRulesCheck: DocumentCheck {
    public static let description = CheckDescription(
        identifier: "document_rules",
        name: "Document rules",
        summary: "Each rule is a MongoDB query filter that every document must match (must_match) or must not match "
            + "(must_not_match), with the server's query semantics ($eq $ne $gt $gte $lt $lte $in $nin $exists $type $regex "
            + "$size $all $elemMatch $not $and $or $nor, and $expr comparisons). Documents breaking a rule are counted with example _ids.",
        defaultSeverity: .high,
        needs: "find and aggregate on the collection (the read role); one shared pass",
        options: [Options.collection, Options.rules],
        metrics: [.worseUp("violations", .documents)])

    enum Options {
        static let collection = TypedOption<String>.collection("the collection to scan")
        static let rules = TypedOption<Rules>(
            "rules", type: "list", "each {name, must_match: filter | must_not_match: filter, severity?}", required: true
        ) { try DocumentRulesCheck.readRules($0) }
    }

    public static let examples = [
        CheckExample(
            "every deleted recording has a deletion time",
            setup: [["insert": "recordings", "documents": [["deleted": true, "deleted_at": .datetime(Date(timeIntervalSince1970: 0))], ["deleted": false]]]],
            entry: "collection: recordings\nrules:\n  - name: deleted has a time\n    must_not_match: {deleted: true, deleted_at: {$exists: false}}"),
        CheckExample(
            "a deleted recording without a deletion time",
            setup: [["insert": "recordings", "documents": [["deleted": true], ["deleted": false], ["deleted": [true]]]]],
            entry: "collection: recordings\nrules:\n  - name: deleted has a time\n    must_not_match: {deleted: true, deleted_at: {$exists: false}}",
            expect: [ExpectedFinding("recordings/rule_violated/deleted has a time", .high, ["violations": 2])]),
        CheckExample(
            "an end before its start, compared as the server does ($expr: missing is below every value)",
            setup: [["insert": "recordings", "documents": [["start": 1, "end": 2], ["start": 3, "end": 2], ["start": 1]]]],
            entry: "collection: recordings\nrules:\n  - name: end after start\n    severity: medium\n"
                + "    must_match: {$expr: {$gte: [\"$end\", \"$start\"]}}",
            expect: [ExpectedFinding("recordings/rule_violated/end after start", .medium, ["violations": 2])]),
        CheckExample(
            "a channel 0 in an array of documents, and a name pattern",
            setup: [
                [
                    "insert": "recordings",
                    "documents": [
                        ["channels": [["min": 1], ["min": 0]], "name": "rec-1"], ["channels": [["min": 2]], "name": "Rec-2"],
                    ],
                ]
            ],
            entry: "collection: recordings\nrules:\n  - name: channel 0\n    must_not_match: {channels.min: 0}\n"
                + "  - name: lower-case name\n    must_match: {name: {$regex: '^rec-[0-9]+$'}}",
            expect: [
                ExpectedFinding("recordings/rule_violated/channel 0", .high, ["violations": 1]),
                ExpectedFinding("recordings/rule_violated/lower-case name", .high, ["violations": 1]),
            ]),
    ]

    struct Rule: Sendable {
        let name: String
        let severity: Severity?
        /// True: documents must match the filter; false: they must not.
        let mustMatch: Bool
        let filter: FilterNode
        /// The filter as written (Extended JSON values read), to show how to find the documents.
        let query: Document
    }

    /// The rules and the top-level fields their filters read (ids of `QueryPath.top`).
    struct Rules: Sendable {
        let rules: [Rule]
        let topLevelNames: [String]
    }

    let collectionName: String
    let rules: [Rule]
    let topLevelNames: [String]
    public var collection: String? { collectionName }
    /// Whole top-level fields: a projection of a dotted path would change what the filter sees (a
    /// projection drops array elements that are not documents, and reads numeric names as field names).
    public var fieldsRead: [String] { topLevelNames }

    public init(options: SpecFields) throws {
        collectionName = try options.required(Options.collection)
        let read = try options.required(Options.rules)
        rules = read.rules
        topLevelNames = read.topLevelNames
    }

    static func readRules(_ node: SpecNode) throws -> Rules {
        let parser = FilterParser()
        var names = Set<String>()
        let rules = try node.nonEmptyList { item -> Rule in
            let fields = try item.fields(allowed: ["name", "severity", "must_match", "must_not_match"])
            let nameNode = try fields.required("name")
            let name = try nameNode.string()
            guard names.insert(name).inserted else { throw nameNode.error("two rules are named '\(name)'") }
            let severity = try fields["severity"].map(CheckDescription.severityOption.read)
            let filterNode: SpecNode
            switch (fields["must_match"], fields["must_not_match"]) {
            case (let node?, nil): filterNode = node
            case (nil, let node?): filterNode = node
            default: throw item.error("a rule has exactly one of must_match, must_not_match")
            }
            let filter = try parser.parse(filterNode)
            return Rule(
                name: name, severity: severity, mustMatch: fields["must_match"] != nil, filter: filter,
                query: try FilterParser.document(filterNode))
        }
        return Rules(rules: rules, topLevelNames: parser.topLevelNames)
    }

    public func makeAccumulator(context: AuditContext, fields: FieldReader, expectedDocuments: Int) -> any DocumentAccumulator {
        Accumulator(check: self, context: context, slots: topLevelNames.map { fields.index(of: $0)! })
    }

    final class Accumulator: DocumentAccumulator {
        let check: DocumentRulesCheck
        let slots: [Int]
        let matcher: QueryMatcher
        let verdicts: RegexVerdicts
        var violations: [Int]
        /// Per rule, the first few `_id`s of documents breaking it.
        var examples: [[BSONValue]]
        static let exampleLimit = 5
        /// Documents whose verdict waits for the server's on regular expressions: the rule, the top-level
        /// values (type and bytes, nil when missing) and the `_id`.
        var waiting: [(rule: Int, values: [(UInt8, [UInt8])?], id: BSONValue)] = []
        var failure: Error?

        /// Waiting documents are settled in one go past these bounds (the fewer round trips the better;
        /// the copies of waiting documents' values are bounded by `waitingBytesLimit`).
        static let waitingLimit = 50_000
        static let waitingBytesLimit = 16 << 20
        static let pendingBytesLimit = 4 << 20
        var waitingBytes = 0

        init(check: DocumentRulesCheck, context: AuditContext, slots: [Int]) {
            self.check = check
            self.slots = slots
            verdicts = RegexVerdicts(
                collection: context.database.collection(check.collectionName), maxTimeMS: context.maxTimeMS, readPreference: context.readPreference)
            matcher = QueryMatcher(topLevelNames: slots.count, now: context.now, verdicts: verdicts)
            violations = Array(repeating: 0, count: check.rules.count)
            examples = Array(repeating: [], count: check.rules.count)
        }

        func visit(_ document: DocumentView, fields: FieldReader) {
            for (index, slot) in slots.enumerated() {
                matcher.topLevel[index] = fields.valueCount(slot) > 0 ? fields.raw(slot, 0) : nil
            }
            for (index, rule) in check.rules.enumerated() {
                switch matcher.matches(rule.filter) {
                case .unknown:
                    let values = matcher.topLevel.map { value in value.map { ($0.type, [UInt8]($0.bytes)) } }
                    waitingBytes += values.reduce(0) { $0 + ($1?.1.count ?? 0) }
                    waiting.append((index, values, fields.value(0) ?? .undefined))
                case let truth where (truth == .yes) != rule.mustMatch:
                    violations[index] += 1
                    if examples[index].count < Self.exampleLimit { examples[index].append(fields.value(0) ?? .undefined) }
                default:
                    break
                }
            }
            if waiting.count >= Self.waitingLimit || waitingBytes >= Self.waitingBytesLimit || verdicts.pendingBytes >= Self.pendingBytesLimit {
                settle()
            }
        }

        /// Gets the server's verdicts for the waiting documents and counts them.
        func settle() {
            var rounds = 0
            while !waiting.isEmpty && failure == nil {
                rounds += 1
                do {
                    try verdicts.resolve()
                } catch {
                    failure = error
                    return
                }
                let documents = waiting
                waiting.removeAll(keepingCapacity: true)
                waitingBytes = 0
                for document in documents { judge(document, lastRound: rounds >= 4) }
            }
        }

        private func judge(_ document: (rule: Int, values: [(UInt8, [UInt8])?], id: BSONValue), lastRound: Bool) {
            let rule = check.rules[document.rule]
            var truth = Truth.unknown
            func load(_ index: Int) {
                guard index < document.values.count else {
                    truth = matcher.matches(rule.filter)
                    return
                }
                guard let (type, bytes) = document.values[index] else {
                    matcher.topLevel[index] = nil
                    return load(index + 1)
                }
                bytes.withUnsafeBytes { buffer in
                    matcher.topLevel[index] = RawBSONValue(type: type, bytes: buffer)
                    load(index + 1)
                }
            }
            load(0)
            switch truth {
            case .unknown:
                if lastRound {
                    failure = PatternError(description: "the server's verdicts on the regular expressions of rule '\(rule.name)' did not settle")
                } else {
                    waiting.append(document)
                }
            case let truth where (truth == .yes) != rule.mustMatch:
                violations[document.rule] += 1
                if examples[document.rule].count < Self.exampleLimit { examples[document.rule].append(document.id) }
            default:
                break
            }
        }

        /// Adds what `other` (fed a disjoint part of the same collection) collected.
        func merge(_ other: any DocumentAccumulator) {
            guard let other = other as? Accumulator else { return }
            other.settle()
            if failure == nil { failure = other.failure }
            for index in violations.indices {
                violations[index] += other.violations[index]
                examples[index] = Array((examples[index] + other.examples[index]).prefix(Self.exampleLimit))
            }
        }

        func output(severity: Severity, scan: ScanSummary, context: AuditContext) throws -> CheckOutput {
            settle()
            if let failure { throw failure }
            var findings = try check.collectionFindings(check.collectionName, documents: scan.scanned, severity: severity, context: context)
            for (index, rule) in check.rules.enumerated() where violations[index] > 0 {
                let find: Document = rule.mustMatch ? ["$nor": [.document(rule.query)]] : rule.query
                findings.append(
                    check.finding(
                        "rule_violated", subject: rule.name, severity: rule.severity ?? severity,
                        title:
                            "\(violations[index]) document(s) break the rule '\(rule.name)' (\(rule.mustMatch ? "they do not match its filter" : "they match the filter it forbids"))",
                        impact: "Documents in a state the rule says is impossible mislead every reader that trusts it.",
                        fix: "Find them with \(context.shellCollection(check.collectionName)).find(\(find.relaxedJSON))",
                        metrics: ["violations": scan.proportion(violations[index])],
                        examples: examples[index]))
            }
            return CheckOutput(findings: findings, metrics: ["rules": .count(check.rules.count)])
        }
    }
}
