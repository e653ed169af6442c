import Foundation
import MongoKit

/// A figure behind a finding or a check result. Every figure is a JSON number in the report; a count of
/// documents or values out of those looked at carries its share, and, when the documents were a random
/// sample, the estimate for the whole collection with a 95% confidence interval of the share.
public enum Metric: Equatable, Sendable {
    /// A whole number: documents, values, indexes.
    case count(Int)
    /// A measured quantity; the metric's name says its unit (`…Ms` milliseconds, `…Seconds`, `…Share` 0..1).
    case value(Double)
    /// A count out of the documents (or values) looked at.
    case proportion(Proportion)

    /// The figure a threshold or a baseline compares: the count, or the value.
    public var number: Double {
        switch self {
        case .count(let n): return Double(n)
        case .value(let v): return v
        case .proportion(let p): return Double(p.count)
        }
    }

    public var json: JSONValue {
        switch self {
        case .count(let n): return .integer(Int64(n))
        case .value(let v): return .number(v)
        case .proportion(let p): return p.json
        }
    }
}

/// `count` of `of` looked at, with its share; for a sample also the estimate over `total` and the bounds.
public struct Proportion: Equatable, Sendable {
    public var count: Int
    public var of: Int
    public var share: Double
    /// False when `of` is a random sample of the collection.
    public var exact: Bool
    /// The collection's document count, when sampled.
    public var total: Int?
    /// `share * total`, rounded, when sampled.
    public var estimate: Int?
    /// The 95% Wilson score interval of the share, when sampled.
    public var low: Double?
    public var high: Double?

    public init(count: Int, of: Int, exact: Bool = true, total: Int? = nil) {
        self.count = count
        self.of = of
        self.exact = exact
        share = of == 0 ? 0 : Double(count) / Double(of)
        guard !exact, let total else { return }
        self.total = total
        estimate = Int((share * Double(total)).rounded())
        (low, high) = Proportion.wilsonInterval(count: count, of: of)
    }

    /// The 95% Wilson score interval of the share `count / of`.
    public static func wilsonInterval(count: Int, of: Int) -> (Double, Double) {
        guard of > 0 else { return (0, 0) }
        let n = Double(of)
        let p = Double(count) / n
        let z = 1.959964
        let denominator = 1 + z * z / n
        let centre = (p + z * z / (2 * n)) / denominator
        let margin = z * (p * (1 - p) / n + z * z / (4 * n * n)).squareRoot() / denominator
        return (max(0, centre - margin), min(1, centre + margin))
    }

    public var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("count", .integer(Int64(count))), ("of", .integer(Int64(of))), ("share", .number(share)), ("exact", .bool(exact)),
        ]
        if let total { fields.append(("total", .integer(Int64(total)))) }
        if let estimate { fields.append(("estimate", .integer(Int64(estimate)))) }
        if let low, let high { fields += [("low", .number(low)), ("high", .number(high))] }
        return .object(fields)
    }

    /// As people read it: `10 of 5000 (0.20%)`, or for a sample
    /// `~300 of 100000 (0.30%, 95% CI 0.10%–0.80%, sample of 1000)`.
    public var text: String {
        guard !exact, let total, let estimate, let low, let high else { return "\(count) of \(of) (\(percent(share)))" }
        return "~\(estimate) of \(total) (\(percent(share)), 95% CI \(percent(low))–\(percent(high)), sample of \(of))"
    }
}

/// Named figures in a fixed order (the order a check adds them), so reports read the same every run.
public struct Metrics: Equatable, Sendable, ExpressibleByDictionaryLiteral {
    public private(set) var entries: [(name: String, metric: Metric)] = []

    public init() {}
    public init(dictionaryLiteral elements: (String, Metric)...) {
        for (name, metric) in elements { self[name] = metric }
    }

    public subscript(name: String) -> Metric? {
        get { entries.first { $0.name == name }?.metric }
        set {
            if let index = entries.firstIndex(where: { $0.name == name }) {
                if let newValue { entries[index].metric = newValue } else { entries.remove(at: index) }
            } else if let newValue {
                entries.append((name, newValue))
            }
        }
    }

    public var isEmpty: Bool { entries.isEmpty }

    public static func == (lhs: Metrics, rhs: Metrics) -> Bool {
        lhs.entries.count == rhs.entries.count && zip(lhs.entries, rhs.entries).allSatisfy { $0.name == $1.name && $0.metric == $1.metric }
    }

    public var json: JSONValue { .object(entries.map { ($0.name, $0.metric.json) }) }
}

func percent(_ share: Double) -> String { String(format: "%.2f%%", share * 100) }
