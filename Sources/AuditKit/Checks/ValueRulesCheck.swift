import Foundation
import MongoKit
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
        options: [Options.collection, Options.rules])

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

        func value(now: Date) -> Double {
            switch self {
            case .number(let n): return n
            case .date(let d): return d.timeIntervalSince1970
            case .now: return now.timeIntervalSince1970
            }
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

    struct Rule: @unchecked Sendable {
        /// The rule's name, or its field and constraint: what the finding is about.
        let label: String
        let field: String
        let min: Bound?
        let max: Bound?
        let allowedNumbers: Set<Double>
        let allowedStrings: Set<String>
        let hasAllowedSet: Bool
        let pattern: NSRegularExpression?
        let patternText: String?

        /// Whether the spec named the rule.
        var hasName: Bool { label != "\(field) \(describeConstraint)" }

        func named(_ name: String) -> Rule {
            Rule(
                label: name, field: field, min: min, max: max, allowedNumbers: allowedNumbers, allowedStrings: allowedStrings,
                hasAllowedSet: hasAllowedSet, pattern: pattern, patternText: patternText)
        }

        var describeConstraint: String {
            var parts: [String] = []
            if let min { parts.append(">= \(min.text)") }
            if let max { parts.append("<= \(max.text)") }
            if hasAllowedSet {
                let values = allowedNumbers.sorted().map { String(format: "%g", $0) } + allowedStrings.sorted()
                parts.append("in {\(values.joined(separator: ", "))}")
            }
            if let patternText { parts.append("matches /\(patternText)/") }
            return parts.joined(separator: " and ")
        }
    }

    /// A rule ready for the pass: bounds resolved against the audit's time, allowed strings kept as bytes
    /// so that a document's string is compared where it lies, without building a Swift string.
    final class Matcher {
        let minimum: Double?
        let minimumIsTime: Bool
        let maximum: Double?
        let maximumIsTime: Bool
        let hasAllowedSet: Bool
        let allowedNumbers: Set<Double>
        let allowedStrings: [[UInt8]]
        let pattern: NSRegularExpression?

        init(_ rule: Rule, now: Date) {
            minimum = rule.min?.value(now: now)
            minimumIsTime = rule.min?.isTime ?? false
            maximum = rule.max?.value(now: now)
            maximumIsTime = rule.max?.isTime ?? false
            hasAllowedSet = rule.hasAllowedSet
            allowedNumbers = rule.allowedNumbers
            allowedStrings = rule.allowedStrings.map { Array($0.utf8) }
            pattern = rule.pattern
        }

        /// Whether the present, non-null value at `slot` satisfies every constraint of the rule.
        func accepts(_ fields: FieldReader, _ slot: Int) -> Bool {
            if minimum != nil || maximum != nil {
                let number: Double?
                let isTime: Bool
                if let milliseconds = fields.dateMilliseconds(slot) {
                    number = Double(milliseconds) / 1000
                    isTime = true
                } else {
                    number = fields.number(slot)
                    isTime = false
                }
                guard let number else { return false }
                if let minimum, minimumIsTime != isTime || number < minimum { return false }
                if let maximum, maximumIsTime != isTime || number > maximum { return false }
            }
            if hasAllowedSet {
                if let number = fields.number(slot) {
                    if !allowedNumbers.contains(number) { return false }
                } else if let bytes = fields.stringBytes(slot) {
                    if !allowedStrings.contains(where: { $0.elementsEqual(bytes) }) { return false }
                } else {
                    return false
                }
            }
            if let pattern {
                guard let string = fields.string(slot) else { return false }
                let range = NSRange(string.startIndex..., in: string)
                if pattern.firstMatch(in: string, range: range) == nil { return false }
            }
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
        var numbers = Set<Double>()
        var strings = Set<String>()
        if let inNode = fields["in"] {
            let items = try inNode.array()
            guard !items.isEmpty else { throw inNode.error("the list must not be empty") }
            for item in items {
                switch try item.bsonValue() {
                case .string(let s): strings.insert(s)
                case let value where value.doubleValue != nil: numbers.insert(value.doubleValue!)
                default: throw item.error("allowed values must be numbers or text")
                }
            }
        }
        var pattern: NSRegularExpression?
        var patternText: String?
        if let patternNode = fields["pattern"] {
            let text = try patternNode.string()
            do {
                pattern = try NSRegularExpression(pattern: text)
            } catch {
                throw patternNode.error("not a valid regular expression: \(text)")
            }
            patternText = text
        }
        let min = try fields["min"].map(readBound)
        let max = try fields["max"].map(readBound)
        let rule = Rule(
            label: field, field: field, min: min, max: max, allowedNumbers: numbers, allowedStrings: strings,
            hasAllowedSet: fields["in"] != nil, pattern: pattern, patternText: patternText)
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
        Accumulator(check: self, now: context.now, slots: rules.map { fields.index(of: $0.field)! })
    }

    final class Accumulator: DocumentAccumulator {
        let check: ValueRulesCheck
        let matchers: [Matcher]
        let slots: [Int]
        @exclusivity(unchecked) var checked: [Int]
        @exclusivity(unchecked) var violations: [Int]
        @exclusivity(unchecked) var examples: [Examples]

        init(check: ValueRulesCheck, now: Date, slots: [Int]) {
            self.check = check
            matchers = check.rules.map { Matcher($0, now: now) }
            self.slots = slots
            checked = Array(repeating: 0, count: check.rules.count)
            violations = checked
            examples = Array(repeating: Examples(), count: check.rules.count)
        }

        func visit(_ document: DocumentView, fields: FieldReader) {
            for index in matchers.indices {
                let slot = slots[index]
                guard let type = fields.type(slot), type != .null else { continue }
                checked[index] += 1
                if !matchers[index].accepts(fields, slot) {
                    violations[index] += 1
                    examples[index].add(fields)
                }
            }
        }

        func output(severity: Severity, scan: ScanSummary, context: AuditContext) throws -> CheckOutput {
            let findings = check.rules.indices.compactMap { index -> Finding? in
                let rule = check.rules[index]
                guard violations[index] > 0 else { return nil }
                return check.finding(
                    "rule_violated", subject: rule.label, severity: severity,
                    title: "\(violations[index]) value(s) of '\(rule.field)' break the rule\(rule.hasName ? " '\(rule.label)'" : ""): "
                        + "\(rule.field) \(rule.describeConstraint)",
                    impact: "Values outside what is physically or logically possible corrupt calculations and reports downstream.",
                    metrics: ["violations": scan.proportion(violations[index]), "checkedValues": .count(checked[index])],
                    examples: examples[index].ids)
            }
            return CheckOutput(findings: findings, metrics: ["rules": .count(check.rules.count), "valuesChecked": .count(checked.reduce(0, +))])
        }
    }
}
