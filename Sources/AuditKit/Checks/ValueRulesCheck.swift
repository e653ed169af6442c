import Foundation
import MongoKit
import ScanKernel
import SpecSupport

/// Ranges, allowed values and patterns on fields, counted over the shared pass with a few offending `_id`s.
public struct ValueRulesCheck: DocumentCheck {
    public static let description = CheckDescription(
        identifier: "value_rules",
        name: "Value rules",
        summary: "Each rule bounds a field's present, non-null values: min/max (numbers, ISO dates, or now), "
            + "an allowed set (in), or a regular expression (pattern). Violations are counted with example _ids.",
        defaultSeverity: .high,
        needs: "find on the collection (the read role); one shared pass",
        options: [Options.collection, Options.rules],
        metrics: [.worseUp("violations", .documents), .notCompared("checkedValues", .values), .notCompared("documents", .documents)])

    enum Options {
        static let collection = TypedOption<String>.collection("the collection to scan")
        static let rules = TypedOption<[Rule]>(
            "rules", type: "list", "each {field: path, min?, max?, in?: [values], pattern?: regex, name?: label}", required: true
        ) { try $0.nonEmptyList(ValueRulesCheck.readRule) }
    }

    public static let examples = [
        CheckExample(
            "channels start at 1", setup: [["insert": "recordings", "documents": [["channels": ["min": 1]], ["channels": ["min": 3]]]]],
            entry: "collection: recordings\nrules: [{field: channels.min, min: 1}]"),
        CheckExample(
            "channel 0", setup: [["insert": "recordings", "documents": [["channels": ["min": 0]], ["channels": ["min": 1]]]]],
            entry: "collection: recordings\nrules: [{field: channels.min, min: 1}]",
            expect: [ExpectedFinding("recordings/rule_violated/channels.min >= 1", .high, ["violations": 1, "checkedValues": 2])]),
        CheckExample(
            "a sample count outside the allowed set",
            setup: [["insert": "recordings", "documents": [["n": 128], ["n": 1000]]]],
            entry: "collection: recordings\nrules: [{field: n, in: [128, 256, 512]}]",
            expect: [ExpectedFinding("recordings/rule_violated/n in {128, 256, 512}", .high, ["violations": 1])]),
        CheckExample(
            "a timestamp later than now",
            setup: [["insert": "recordings", "documents": [["t": .datetime(Date().addingTimeInterval(3600))]]]],
            entry: "collection: recordings\nrules: [{field: t, max: now, name: not in the future}]",
            expect: [ExpectedFinding("recordings/rule_violated/not in the future", .high, ["violations": 1])]),
        CheckExample(
            "uuids match their pattern",
            setup: [["insert": "recordings", "documents": [["uuid": "0a1b2c3d-0000-4000-8000-000000000000"]]]],
            entry: "collection: recordings\nrules: [{field: uuid, pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'}]",
            expect: []),
    ]

    /// A bound: a number, a fixed time, or the time of the audit.
    enum Bound: Sendable {
        case number(Double)
        case date(Date)
        case now

        /// A time bound in milliseconds since the epoch; nil for a number.
        func milliseconds(now: Date) -> Int64? {
            switch self {
            case .number: return nil
            case .date(let d): return clampedMilliseconds(d)
            case .now: return clampedMilliseconds(now)
            }
        }

        var number: NumberKey? {
            if case .number(let n) = self { return NumberKey(double: n) }
            return nil
        }

        var isTime: Bool {
            if case .number = self { return false }
            return true
        }

        var text: String {
            switch self {
            case .number(let n): return String(format: "%g", n)
            case .date(let d): return ISO8601DateFormatter().string(from: d)
            case .now: return "now"
            }
        }
    }

    struct Rule: Sendable {
        /// The rule's name, or its field and constraint: what the finding is about.
        let label: String
        let field: String
        let min: Bound?
        let max: Bound?
        let allowedNumbers: Set<NumberKey>
        /// The allowed numbers as the spec wrote them, for the rule's description.
        let allowedNumberTexts: [String]
        let allowedStrings: Set<String>
        let hasAllowedSet: Bool
        let patternText: String?

        /// Whether the spec named the rule.
        var hasName: Bool { label != "\(field) \(describeConstraint)" }

        func named(_ name: String) -> Rule {
            Rule(
                label: name, field: field, min: min, max: max, allowedNumbers: allowedNumbers, allowedNumberTexts: allowedNumberTexts,
                allowedStrings: allowedStrings, hasAllowedSet: hasAllowedSet, patternText: patternText)
        }

        var describeConstraint: String {
            var parts: [String] = []
            if let min { parts.append(">= \(min.text)") }
            if let max { parts.append("<= \(max.text)") }
            if hasAllowedSet {
                let values = allowedNumberTexts + allowedStrings.sorted()
                parts.append("in {\(values.joined(separator: ", "))}")
            }
            if let patternText { parts.append("matches /\(patternText)/") }
            return parts.joined(separator: " and ")
        }
    }

    /// A rule ready for the pass: bounds resolved against the audit's time, numbers compared by value
    /// exactly (`NumberKey`: int64 and decimal128 never through a double; NaN sorts below every number, so
    /// it breaks min and max), allowed strings kept as bytes (strings and symbols alike) so that a
    /// document's string is compared where it lies. Patterns are evaluated by the server (`PatternVerdicts`).
    final class Matcher {
        let minimum: NumberKey?
        let minimumTime: Int64?
        let hasMinimum: Bool
        let maximum: NumberKey?
        let maximumTime: Int64?
        let hasMaximum: Bool
        let hasAllowedSet: Bool
        let allowedNumbers: Set<NumberKey>
        /// The same, as an array for a linear search when small (no hashing per value).
        let allowedNumberList: [NumberKey]
        /// The allowed numbers that are integers (`NumberKey.integer`): an int32 or int64 value is allowed
        /// exactly when it is one of them.
        let allowedIntegers: [Int64]
        let allowedStrings: [[UInt8]]
        let hasPattern: Bool
        /// The numeric bounds as doubles when both are exactly doubles (-inf/+inf when absent); nil otherwise.
        let minimumExactDouble: Double?
        let maximumExactDouble: Double?

        init(_ rule: Rule, now: Date) {
            minimum = rule.min?.number
            minimumTime = rule.min?.milliseconds(now: now)
            hasMinimum = rule.min != nil
            maximum = rule.max?.number
            maximumTime = rule.max?.milliseconds(now: now)
            hasMaximum = rule.max != nil
            hasAllowedSet = rule.hasAllowedSet
            allowedNumbers = rule.allowedNumbers
            allowedNumberList = rule.allowedNumbers.count <= 32 ? Array(rule.allowedNumbers) : []
            allowedIntegers = rule.allowedNumbers.compactMap { number in
                if case .integer(let integer) = number { return integer }
                return nil
            }
            allowedStrings = rule.allowedStrings.map { Array($0.utf8) }
            hasPattern = rule.patternText != nil
            func exact(_ bound: Bound?, absent: Double) -> Double? {
                guard let bound else { return absent }
                if case .number(let n) = bound, !n.isNaN { return n }
                return nil
            }
            let low = exact(rule.min, absent: -.infinity)
            let high = exact(rule.max, absent: .infinity)
            minimumExactDouble = low != nil && high != nil ? low : nil
            maximumExactDouble = low != nil && high != nil ? high : nil
        }

        /// Whether the value satisfies every constraint but the pattern (which the caller asks the server about).
        func accepts(_ value: RawBSONValue) -> Bool {
            if hasMinimum || hasMaximum {
                if let milliseconds = value.dateMilliseconds {
                    if hasMinimum { guard let minimumTime, milliseconds >= minimumTime else { return false } }
                    if hasMaximum { guard let maximumTime, milliseconds <= maximumTime else { return false } }
                } else if value.type == 0x10 || value.type == 0x01, value.bytes.count >= 4, let minimumDouble = minimumExactDouble,
                    let maximumDouble = maximumExactDouble
                {
                    // Fast path: an int32 or a double against bounds that are doubles is compared exactly as doubles.
                    let number =
                        value.type == 0x10
                        ? Double(Int32(littleEndian: value.bytes.loadUnaligned(as: Int32.self)))
                        : Double(bitPattern: UInt64(littleEndian: value.bytes.count == 8 ? value.bytes.loadUnaligned(as: UInt64.self) : 0))
                    guard number >= minimumDouble, number <= maximumDouble else { return false }  // NaN fails both
                } else if let number = value.number {
                    if case .nan = number { return false }
                    if hasMinimum { guard let minimum, NumberKey.compare(number, minimum) >= 0 else { return false } }
                    if hasMaximum { guard let maximum, NumberKey.compare(number, maximum) <= 0 else { return false } }
                } else {
                    return false
                }
            }
            if hasAllowedSet {
                if (value.type == 0x10 && value.bytes.count == 4) || (value.type == 0x12 && value.bytes.count == 8) {
                    // Fast path: an integer's number key is `.integer`, so only the allowed integers can equal it.
                    let integer =
                        value.type == 0x10
                        ? Int64(Int32(littleEndian: value.bytes.loadUnaligned(as: Int32.self)))
                        : Int64(littleEndian: value.bytes.loadUnaligned(as: Int64.self))
                    if !allowedIntegers.contains(integer) { return false }
                } else if let number = value.number {
                    if allowedNumberList.isEmpty ? !allowedNumbers.contains(number) : !allowedNumberList.contains(number) { return false }
                } else if let text = value.text {
                    if !allowedStrings.contains(where: { $0.count == text.count && $0.elementsEqual(text) }) { return false }
                } else {
                    return false
                }
            }
            if hasPattern, value.text == nil { return false }
            return true
        }
    }

    let collectionName: String
    let rules: [Rule]
    public var collection: String? { collectionName }
    public var fieldsRead: [String] { rules.map(\.field) }

    public init(options: SpecFields) throws {
        collectionName = try options.required(Options.collection)
        rules = try options.required(Options.rules)
    }

    static func readRule(_ node: SpecNode) throws -> Rule {
        let fields = try node.fields(allowed: ["field", "name", "min", "max", "in", "pattern"])
        let fieldNode = try fields.required("field")
        let field = try fieldNode.string()
        try fieldNode.validateFieldPath(field)
        guard fields["min"] != nil || fields["max"] != nil || fields["in"] != nil || fields["pattern"] != nil else {
            throw node.error("a rule needs at least one of min, max, in, pattern")
        }
        var numbers = Set<NumberKey>()
        var numberValues: [BSONValue] = []
        var strings = Set<String>()
        if let inNode = fields["in"] {
            let items = try inNode.array()
            guard !items.isEmpty else { throw inNode.error("the list must not be empty") }
            for item in items {
                let value = try item.bsonValue()
                if case .string(let s) = value {
                    strings.insert(s)
                } else if let number = NumberKey(value) {
                    if numbers.insert(number).inserted { numberValues.append(value) }
                } else {
                    throw item.error("allowed values must be numbers or text")
                }
            }
        }
        // As the description always read (and so the finding's id): ascending, each as %g.
        let numberTexts = numberValues.sorted { ($0.doubleValue ?? 0) < ($1.doubleValue ?? 0) }.map { String(format: "%g", $0.doubleValue ?? 0) }
        // The server evaluates patterns (PCRE, as `$regex` does); one it rejects fails the check and says why.
        // Plainly broken syntax is refused here already, with the spec's file, line and field.
        var patternText: String?
        if let patternNode = fields["pattern"] {
            let text = try patternNode.string()
            guard !text.utf8.contains(0) else { throw patternNode.error("a pattern cannot hold a NUL character") }
            guard (try? NSRegularExpression(pattern: text)) != nil else {
                throw patternNode.error("not a valid regular expression: \(text)")
            }
            patternText = text
        }
        let min = try fields["min"].map(readBound)
        let max = try fields["max"].map(readBound)
        let rule = Rule(
            label: field, field: field, min: min, max: max, allowedNumbers: numbers, allowedNumberTexts: numberTexts,
            allowedStrings: strings, hasAllowedSet: fields["in"] != nil, patternText: patternText)
        return rule.named(try fields["name"]?.string() ?? "\(field) \(rule.describeConstraint)")
    }

    static func readBound(_ node: SpecNode) throws -> Bound {
        if let number = try? node.double() { return .number(number) }
        let text = try node.string()
        if text == "now" { return .now }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = ISO8601DateFormatter().date(from: text) ?? formatter.date(from: text) { return .date(date) }
        throw node.error("expected a number, an ISO 8601 time such as 2024-01-31T00:00:00Z, or now")
    }

    public func makeAccumulator(context: AuditContext, fields: FieldReader, expectedDocuments: Int) -> any DocumentAccumulator {
        Accumulator(check: self, context: context, slots: rules.map { fields.index(of: $0.field)! })
    }

    /// Rules look at elements: a document breaks a rule when one of the values its path reaches (an array's
    /// elements, not the array) breaks it; null, undefined, a missing field and an empty array are no value,
    /// and an array nested in an array is neither entered nor checked (a query does not enter it either).
    final class Accumulator: DocumentAccumulator {
        let check: ValueRulesCheck
        let matchers: [Matcher]
        /// The same, read per document without a retain and release each: `matchers` keeps them alive.
        private let unretainedMatchers: [Unretained<Matcher>]
        let slots: [Int]
        /// Per rule with a pattern, the server's verdicts on its strings.
        let patterns: [PatternVerdicts?]
        /// Per rule; manually allocated (freed in deinit), so that counting checks no array's uniqueness.
        private let checked: UnsafeMutablePointer<Int>
        private let violations: UnsafeMutablePointer<Int>
        let examples: AccumulatorState<[Examples]>

        init(check: ValueRulesCheck, context: AuditContext, slots: [Int]) {
            self.check = check
            matchers = check.rules.map { Matcher($0, now: context.now) }
            unretainedMatchers = matchers.map { Unretained($0) }
            self.slots = slots
            let collection = context.database.collection(check.collectionName)
            patterns = check.rules.map { rule in
                rule.patternText.map { PatternVerdicts(pattern: $0, collection: collection, context: context) }
            }
            checked = .allocate(capacity: max(check.rules.count, 1))
            checked.initialize(repeating: 0, count: check.rules.count)
            violations = .allocate(capacity: max(check.rules.count, 1))
            violations.initialize(repeating: 0, count: check.rules.count)
            examples = AccumulatorState(Array(repeating: Examples(), count: check.rules.count))
        }

        deinit {
            checked.deallocate()
            violations.deallocate()
        }

        func visit(_ document: DocumentView, fields: FieldReader) {
            for index in 0..<slots.count {
                let slot = slots[index]
                let count = fields.valueCount(slot)
                guard count > 0 else { continue }
                let matcher = unretainedMatchers[index]
                if count == 1 {
                    // The common case: one value, not an array.
                    let value = fields.raw(slot, 0)
                    if value.type == 0x0A || value.type == 0x06 || value.type == 0x04 { continue }
                    checked[index] += 1
                    if !matcher.with({ $0.accepts(value) }) {
                        violations[index] += 1
                        examples.update { $0[index].add(fields) }
                    } else if matcher.with({ $0.hasPattern }), let text = value.text, let verdicts = patterns[index] {
                        verdicts.judge([Array(text)], id: wantsExample(index) ? fields.value(0) : nil)
                    }
                    continue
                }
                var broken = false
                var values = 0
                var texts: [[UInt8]]? = nil
                for position in 0..<count where !fields.isWholeArray(slot, position) {
                    let value = fields.raw(slot, position)
                    // Null and undefined are no value; an array inside an array is not entered, as in a query.
                    if value.type == 0x0A || value.type == 0x06 || value.type == 0x04 { continue }
                    values += 1
                    if broken { continue }
                    if !matcher.with({ $0.accepts(value) }) {
                        broken = true
                    } else if matcher.with({ $0.hasPattern }), let text = value.text {
                        texts = (texts ?? []) + [Array(text)]
                    }
                }
                checked[index] += values
                if broken {
                    violations[index] += 1
                    examples.update { $0[index].add(fields) }
                } else if let texts, let verdicts = patterns[index] {
                    verdicts.judge(texts, id: wantsExample(index) ? fields.value(0) : nil)
                }
            }
        }

        /// Whether the rule keeps the next offending document's `_id` (its examples are not full).
        private func wantsExample(_ index: Int) -> Bool {
            examples.update { $0[index].ids.count < $0[index].limit }
        }

        func merge(_ other: any DocumentAccumulator) {
            let other = mergeable(other)
            precondition(other.check.rules.count == check.rules.count, "merge: accumulators of different value_rules checks")
            for index in check.rules.indices {
                checked[index] += other.checked[index]
                violations[index] += other.violations[index]
                examples.update { $0[index].merge(other.examples.value[index]) }
                if let verdicts = patterns[index], let others = other.patterns[index] { verdicts.merge(others) }
            }
        }

        func output(severity: Severity, scan: ScanSummary, context: AuditContext) throws -> CheckOutput {
            let examples = examples.value
            var exampleIDs = examples.map(\.ids)
            for index in check.rules.indices {
                guard let verdicts = patterns[index] else { continue }
                try verdicts.finish()
                violations[index] += verdicts.violations
                exampleIDs[index] = Array((exampleIDs[index] + verdicts.exampleIDs).prefix(examples[index].limit))
            }
            var findings = try check.collectionFindings(check.collectionName, documents: scan.scanned, severity: severity, context: context)
            let empty = !findings.isEmpty && scan.scanned == 0 || findings.contains { $0.kind == "missing_collection" }
            findings += check.rules.indices.compactMap { index -> Finding? in
                let rule = check.rules[index]
                if checked[index] == 0 && !empty {
                    // No silent pass: a rule that saw no value (a misspelled field?) says so.
                    return check.finding(
                        "rule_checked_nothing", subject: rule.label, severity: severity,
                        title: "the rule on '\(rule.field)' checked 0 values over \(scan.scanned) documents",
                        impact: "A rule that matches no value passes whatever the data; the field may be misspelled or absent.",
                        metrics: ["checkedValues": .count(0), "documents": .count(scan.scanned)])
                }
                guard violations[index] > 0 else { return nil }
                return check.finding(
                    "rule_violated", subject: rule.label, severity: severity,
                    title: "\(violations[index]) value(s) of '\(rule.field)' break the rule\(rule.hasName ? " '\(rule.label)'" : ""): "
                        + "\(rule.field) \(rule.describeConstraint)",
                    impact: "Values outside what is physically or logically possible corrupt calculations and reports downstream.",
                    metrics: ["violations": scan.proportion(violations[index]), "checkedValues": .count(checked[index])],
                    examples: exampleIDs[index])
            }
            return CheckOutput(
                findings: findings, metrics: ["rules": .count(check.rules.count), "valuesChecked": .count(check.rules.indices.reduce(0) { $0 + checked[$1] })])
        }
    }
}

/// A pattern evaluated by the server, so that it has the server's syntax (PCRE, as `$regex`) and runs
/// under the check's time limit: distinct strings are sent in batches to a `$regexMatch` over the audited
/// collection (with `maxTimeMS`), and documents wait for the verdicts on their strings. The server's
/// error (a pattern it rejects, a time limit reached) fails the check with that reason.
final class PatternVerdicts {
    let pattern: String
    let collection: MongoCollection
    let maxTimeMS: Int
    let readPreference: ReadPreference
    /// Verdicts already known, by string (bounded: forgotten when it grows large).
    private var known: [[UInt8]: Bool] = [:]
    private var pendingStrings: [[UInt8]] = []
    private var pendingSet: Set<[UInt8]> = []
    private var pendingBytes = 0
    private var pendingDocuments: [(texts: [[UInt8]], id: BSONValue?)] = []
    private(set) var violations = 0
    private(set) var exampleIDs: [BSONValue] = []
    private var failure: Error?

    static let batchBytes = 1 << 20
    static let batchStrings = 20_000
    static let knownLimit = 200_000

    init(pattern: String, collection: MongoCollection, context: AuditContext) {
        self.pattern = pattern
        self.collection = collection
        maxTimeMS = context.maxTimeMS
        readPreference = context.readPreference
    }

    /// A document whose other constraints hold and whose strings must all match.
    func judge(_ texts: [[UInt8]], id: BSONValue?) {
        guard failure == nil else { return }
        var unknown = false
        for text in texts {
            if let verdict = known[text] {
                if !verdict {
                    record(id)
                    return
                }
            } else {
                unknown = true
                if pendingSet.insert(text).inserted {
                    pendingStrings.append(text)
                    pendingBytes += text.count
                }
            }
        }
        guard unknown else { return }
        pendingDocuments.append((texts, id))
        if pendingBytes >= Self.batchBytes || pendingStrings.count >= Self.batchStrings { flush() }
    }

    /// Takes over another part's verdicts, violations and the documents still waiting for verdicts.
    func merge(_ other: PatternVerdicts) {
        violations += other.violations
        exampleIDs += other.exampleIDs.prefix(max(0, 5 - exampleIDs.count))
        if failure == nil { failure = other.failure }
        if known.count + other.known.count <= Self.knownLimit { known.merge(other.known) { mine, _ in mine } }
        for document in other.pendingDocuments { judge(document.texts, id: document.id) }
    }

    private func record(_ id: BSONValue?) {
        violations += 1
        if let id, exampleIDs.count < 5 { exampleIDs.append(id) }
    }

    private func flush() {
        guard failure == nil, !pendingStrings.isEmpty else { return }
        do {
            let verdicts = try evaluate(pendingStrings)
            if known.count + verdicts.count > Self.knownLimit { known.removeAll(keepingCapacity: true) }
            for (text, verdict) in zip(pendingStrings, verdicts) { known[text] = verdict }
            for document in pendingDocuments where document.texts.contains(where: { known[$0] == false }) {
                record(document.id)
            }
        } catch {
            failure = error
        }
        pendingStrings.removeAll(keepingCapacity: true)
        pendingSet.removeAll(keepingCapacity: true)
        pendingDocuments.removeAll(keepingCapacity: true)
        pendingBytes = 0
    }

    /// One round trip: `$regexMatch` of the pattern over each string, computed by the server.
    private func evaluate(_ strings: [[UInt8]]) throws -> [Bool] {
        let inputs = BSONValue.array(strings.map { .string(String(decoding: $0, as: UTF8.self)) })
        let pipeline: [Document] = [
            ["$limit": 1],
            [
                "$project": [
                    "_id": 0, "r": ["$map": ["input": ["$literal": inputs], "as": "s", "in": ["$regexMatch": ["input": "$$s", "regex": .string(pattern)]]]],
                ]
            ],
        ]
        let result = try collection.aggregate(pipeline, options: AggregateOptions(maxTimeMS: maxTimeMS, readPreference: readPreference)) { cursor in
            try cursor.next()
        }
        guard let array = result?["r"]?.arrayValue, array.count == strings.count else {
            throw PatternError(description: "the server returned no verdicts for pattern /\(pattern)/ (is the collection empty now?)")
        }
        return array.map { $0.boolValue ?? false }
    }

    /// Evaluates what is still pending; throws the server's error, if any.
    func finish() throws {
        flush()
        if let failure { throw failure }
    }
}

struct PatternError: Error, CustomStringConvertible {
    let description: String
}

extension ValueRulesCheck {
    /// Sets of few strings, ranges of numbers and dates, exactly as seen.
    public static func starterEntries(_ input: StarterInput) throws -> [StarterEntry] {
        guard let collection = input.collection else { return [] }
        let handle = input.database.collection(collection.collection)
        var comments: [String] = []
        var rules: [StarterValue] = []
        for (i, field) in input.fields.enumerated() {
            let types = Set(field.nonNullTypes)
            var numberRange = field.numberMin.flatMap { low in field.numberMax.map { (low, $0) } }
            var dateRange = field.dateMinMilliseconds.flatMap { low in field.dateMaxMilliseconds.map { (low, $0) } }
            if let exact = input.exact {
                numberRange = exact.numberRanges[i]
                dateRange = exact.dateRanges[i]
            }
            if types == ["string"], let top = field.topValues, let exactCount = field.distinctExact, exactCount <= input.spec.maxInValues,
                top.count == exactCount
            {
                let values = top.compactMap { value -> String? in
                    if case .string(let s) = value.0 { return s }
                    return nil
                }.sorted()
                guard values.allSatisfy(StarterInput.survivesLoading) else { continue }
                if input.spec.sample != nil {
                    // A value the sample missed would break the rule: count them on the server.
                    let others = try handle.countDocuments(
                        [field.path: ["$type": "string", "$nin": .array(values.map(BSONValue.string))]], maxTimeMS: input.spec.timeLimit)
                    if others > 0 { continue }
                }
                comments.append("\(field.path): \(exactCount) distinct value(s) seen")
                rules.append(.options([("field", .text(field.path)), ("in", .list(values.map(StarterValue.text), flow: true))], flow: false))
            } else if !types.isEmpty, types.isSubset(of: ["int", "long", "double"]), let (low, high) = numberRange,
                low.isFinite, high.isFinite
            {
                // Ranges are kept as doubles; beyond 2^53 an integer may have been rounded towards the
                // middle, so the bound moves out by one step to keep every value seen inside it.
                let exactLimit = 9_007_199_254_740_992.0
                let min = abs(low) >= exactLimit ? low.nextDown : low, max = abs(high) >= exactLimit ? high.nextUp : high
                comments.append("\(field.path): range seen")
                rules.append(.options([("field", .text(field.path)), ("min", .number(min)), ("max", .number(max))], flow: false))
            } else if types == ["date"], let (low, high) = dateRange {
                // Whole seconds, widened outwards, so that no rounding can exclude the extremes.
                let formatter = ISO8601DateFormatter()
                let lowDate = Date(timeIntervalSince1970: (Double(low) / 1000).rounded(.down))
                let highDate = Date(timeIntervalSince1970: (Double(high) / 1000).rounded(.up))
                comments.append("\(field.path): range seen (to the second)")
                rules.append(
                    .options(
                        [("field", .text(field.path)), ("min", .text(formatter.string(from: lowDate))), ("max", .text(formatter.string(from: highDate)))],
                        flow: false))
            }
        }
        guard !rules.isEmpty else { return [] }
        return [StarterEntry(comments: comments, [("collection", .text(collection.collection)), ("rules", .list(rules, flow: false))])]
    }
}
