import Foundation

extension IndexSpec {
    /// What differs between this index (as a server reports it) and a wanted one, one line per option;
    /// empty when the server's index is the wanted one. Defaults the server fills in (collation fields,
    /// text-index versions, weights) count as equal when the wanted spec leaves them out.
    public func differences(from wanted: IndexSpec) -> [String] {
        var result: [String] = []
        func note(_ option: String, _ existing: String, _ wanted: String) {
            result.append("\(option): existing \(existing), wanted \(wanted)")
        }
        if comparableKeys != wanted.comparableKeys {
            note("keys", "{\(keys.map(\.description).joined(separator: ", "))}", "{\(wanted.keys.map(\.description).joined(separator: ", "))}")
        }
        if unique != wanted.unique { note("unique", "\(unique)", "\(wanted.unique)") }
        if sparse != wanted.sparse { note("sparse", "\(sparse)", "\(wanted.sparse)") }
        if partialFilterExpression != wanted.partialFilterExpression {
            note("partialFilterExpression", partialFilterExpression?.relaxedJSON ?? "none", wanted.partialFilterExpression?.relaxedJSON ?? "none")
        }
        if expireAfterSeconds != wanted.expireAfterSeconds {
            note("expireAfterSeconds", expireAfterSeconds.map(String.init) ?? "none", wanted.expireAfterSeconds.map(String.init) ?? "none")
        }
        if !Self.collation(collation, satisfies: wanted.collation) {
            note("collation", collation?.relaxedJSON ?? "none", wanted.collation?.relaxedJSON ?? "none")
        }
        if hidden != wanted.hidden { note("hidden", "\(hidden)", "\(wanted.hidden)") }
        for (key, value) in wanted.otherOptions.elements where !Self.sameValue(otherOptions[key], value) {
            note(key, otherOptions[key].map { Document([("v", $0)]).relaxedJSON } ?? "none", Document([("v", value)]).relaxedJSON)
        }
        return result
    }

    /// Keys as they can be compared: text fields sorted at the place of the first one, because the server
    /// stores a text index as `_fts`/`_ftsx` plus its weights.
    var comparableKeys: [IndexKey] {
        let textFields: [String]
        if keys.contains(where: { $0.field == "_fts" }) {
            textFields = otherOptions["weights"]?.documentValue?.keys ?? []
        } else {
            textFields = keys.filter { $0.kind == "text" }.map(\.field)
        }
        guard let firstText = keys.firstIndex(where: { $0.field == "_fts" || $0.kind == "text" }) else { return keys }
        var result = keys.filter { $0.field != "_fts" && $0.field != "_ftsx" && $0.kind != "text" }
        result.insert(contentsOf: textFields.sorted().map { IndexKey(field: $0, kind: "text") }, at: min(firstText, result.count))
        return result
    }

    /// A wanted collation is met when every field it names has the same value; none means simple.
    public static func collation(_ actual: Document?, satisfies wanted: Document?) -> Bool {
        guard let wanted else { return actual == nil || actual?["locale"]?.stringValue == "simple" }
        guard let actual else { return wanted["locale"]?.stringValue == "simple" }
        return wanted.elements.allSatisfy { sameValue(actual[$0.0], $0.1) }
    }

    /// Numbers compare by value (the server may store 1 as a double or a long).
    static func sameValue(_ actual: BSONValue?, _ wanted: BSONValue) -> Bool {
        guard let actual else { return false }
        if let a = actual.doubleValue, let b = wanted.doubleValue { return a == b }
        return actual == wanted
    }
}
