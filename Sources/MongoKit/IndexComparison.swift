import Foundation

/// Every comparison of indexes, driven by the rules of `IndexSpec.options`.
extension IndexSpec {
    /// Whether this (existing) index has the wanted keys and everything the wanted one asks for: unique and
    /// TTL when wanted, the same sparse and partial filter, a collation that satisfies. Hidden is not compared.
    package func satisfies(_ wanted: IndexSpec) -> Bool {
        hasSameKeys(as: wanted) && Self.options.allSatisfy { $0.holds($0.sameKeys, existing: self, wanted: wanted) }
    }

    /// Whether this (existing) index serves the wanted one with its leading keys: it has more keys, the
    /// wanted ones first; the wanted index asks for no uniqueness or TTL (a prefix gives neither); neither is
    /// sparse; the partial filters are equal; the collation satisfies; this index is not hidden.
    package func servesAsPrefix(of wanted: IndexSpec) -> Bool {
        let keys = comparableKeys
        let wantedKeys = wanted.comparableKeys
        return keys.count > wantedKeys.count && Array(keys.prefix(wantedKeys.count)) == wantedKeys
            && Self.options.allSatisfy { $0.holds($0.prefix, existing: self, wanted: wanted) }
    }

    /// Whether both indexes have the same keys in the same order and direction, as the server compares
    /// them (a text index's `_fts`/`_ftsx` entry stands for its fields).
    package func hasSameKeys(as other: IndexSpec) -> Bool { comparableKeys == other.comparableKeys }

    /// Whether this index can be dropped because `wider` serves it as a prefix. Partial indexes are never
    /// proposed, even when the wider one has the same filter.
    package func isRedundantPrefix(of wider: IndexSpec) -> Bool {
        partialFilterExpression == nil && wider.servesAsPrefix(of: self)
    }

    /// What differs between this index (as a server reports it) and a wanted one, one line per option;
    /// empty when the server's index is the wanted one. Every option must be equal (collation: satisfied).
    /// Defaults the server fills in (collation fields, text-index versions, weights) count as equal when the
    /// wanted spec leaves them out.
    package func differences(from wanted: IndexSpec) -> [String] {
        var result: [String] = []
        func note(_ option: String, _ existing: String, _ wanted: String) {
            result.append("\(option): existing \(existing), wanted \(wanted)")
        }
        if comparableKeys != wanted.comparableKeys {
            note("keys", "{\(keys.map(\.description).joined(separator: ", "))}", "{\(wanted.keys.map(\.description).joined(separator: ", "))}")
        }
        for option in Self.options where !option.holds(.equal, existing: self, wanted: wanted) {
            note(option.serverName, option.text(in: self), option.text(in: wanted))
        }
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
    package static func collation(_ actual: Document?, satisfies wanted: Document?) -> Bool {
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

extension IndexOption {
    /// Whether `rule` holds for this option between an existing and a wanted index.
    package func holds(_ rule: Rule, existing: IndexSpec, wanted: IndexSpec) -> Bool {
        let have = value(in: existing)
        let want = value(in: wanted)
        switch rule {
        case .equal: return same(have, want)
        case .equalWhenWanted: return want == nil || same(have, want)
        case .unsetInWanted: return want == nil
        case .unsetInBoth: return have == nil && want == nil
        case .unsetInExisting: return have == nil
        case .ignored: return true
        }
    }

    private func same(_ have: BSONValue?, _ want: BSONValue?) -> Bool {
        if case .collation = value { return IndexSpec.collation(have?.documentValue, satisfies: want?.documentValue) }
        guard let want else { return have == nil }
        return IndexSpec.sameValue(have, want)
    }
}
