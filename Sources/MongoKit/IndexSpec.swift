import Foundation

/// One key of an index: a field and its kind (1, -1, "text", "hashed", "2dsphere", ...).
public struct IndexKey: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let field: String
    /// 1 or -1 for ordered keys; the index type name otherwise.
    public let kind: String

    public init(field: String, kind: String) {
        self.field = field
        self.kind = kind
    }

    public init(field: String, direction: Int) { self.init(field: field, kind: direction < 0 ? "-1" : "1") }

    /// Reads a key value as the server stores it: 1, 1.0, NumberLong(1), -1, or a string.
    init(field: String, value: BSONValue) {
        if let number = value.doubleValue {
            self.init(field: field, direction: number < 0 ? -1 : 1)
        } else {
            self.init(field: field, kind: value.stringValue ?? "1")
        }
    }

    var bsonValue: BSONValue {
        switch kind {
        case "1": return .int32(1)
        case "-1": return .int32(-1)
        default: return .string(kind)
        }
    }

    public var description: String { "\(field): \(kind)" }
}

/// An index as `listIndexes` reports it or as `createIndexes` takes it: keys in order plus the options an
/// auditor compares (`IndexSpec.options`). Options not modelled here are kept in `otherOptions`.
public struct IndexSpec: Equatable, Sendable {
    public var name: String
    public var keys: [IndexKey]
    public var unique: Bool
    public var sparse: Bool
    public var partialFilterExpression: Document?
    public var expireAfterSeconds: Int?
    public var collation: Document?
    public var hidden: Bool
    /// Options beyond the modelled ones (weights, 2dsphereIndexVersion, wildcardProjection, ...).
    public var otherOptions: Document

    /// The modelled options: the one table that spec parsing, reading `listIndexes`, writing `createIndexes`
    /// and the comparisons (IndexComparison.swift) go through. A new option is a stored property above and
    /// one entry here.
    package static let options: [IndexOption] = [
        IndexOption("unique", server: "unique", .flag(\.unique), sameKeys: .equalWhenWanted, prefix: .unsetInWanted),
        IndexOption("sparse", server: "sparse", .flag(\.sparse), sameKeys: .equal, prefix: .unsetInBoth),
        IndexOption(
            "partial_filter", server: "partialFilterExpression", .document(\.partialFilterExpression), sameKeys: .equal,
            prefix: .equal),
        IndexOption(
            "expire_after_seconds", server: "expireAfterSeconds", .seconds(\.expireAfterSeconds),
            sameKeys: .equalWhenWanted, prefix: .unsetInWanted),
        IndexOption("collation", server: "collation", .collation(\.collation), sameKeys: .equal, prefix: .equal),
        // A hidden index with the right keys is reported as hidden, not as missing.
        IndexOption("hidden", server: "hidden", .flag(\.hidden), sameKeys: .ignored, prefix: .unsetInExisting),
    ]

    public init(
        keys: [IndexKey], name: String? = nil, unique: Bool = false, sparse: Bool = false,
        partialFilterExpression: Document? = nil, expireAfterSeconds: Int? = nil, collation: Document? = nil,
        hidden: Bool = false, otherOptions: Document = Document()
    ) {
        self.keys = keys
        self.name = name ?? IndexSpec.defaultName(for: keys)
        self.unique = unique
        self.sparse = sparse
        self.partialFilterExpression = partialFilterExpression
        self.expireAfterSeconds = expireAfterSeconds
        self.collation = collation
        self.hidden = hidden
        self.otherOptions = otherOptions
    }

    /// Reads an entry of `listIndexes` (or of `createIndexes`).
    public init(document: Document) {
        let keyDocument = document["key"]?.documentValue ?? Document()
        self.init(keys: keyDocument.elements.map { IndexKey(field: $0.0, value: $0.1) }, name: document["name"]?.stringValue)
        let modelled = Set(["v", "key", "name", "ns", "background"] + Self.options.map(\.serverName))
        for (key, value) in document.elements where !modelled.contains(key) { otherOptions.append(key, value) }
        for option in Self.options { option.set(document[option.serverName], in: &self) }
    }

    /// The key pattern as a document, in order.
    public var keyDocument: Document { Document(keys.map { ($0.field, $0.bsonValue) }) }

    /// The entry for a `createIndexes` command. Only options that are set are written; `background` never is.
    public var document: Document {
        var document: Document = ["key": .document(keyDocument), "name": .string(name)]
        for option in Self.options {
            if let value = option.value(in: self) { document.append(option.serverName, value) }
        }
        for (key, value) in otherOptions.elements { document.append(key, value) }
        return document
    }

    /// The name MongoDB gives an index by default: `field_direction` pairs joined with "_".
    public static func defaultName(for keys: [IndexKey]) -> String {
        keys.map { "\($0.field)_\($0.kind)" }.joined(separator: "_")
    }

    public var isIDIndex: Bool { keys == [IndexKey(field: "_id", direction: 1)] }
}

/// One index option: its name in spec and migration files, its name on the server, its type, and how
/// the comparisons treat it.
package struct IndexOption: Sendable {
    /// The option's type and where `IndexSpec` keeps it.
    package enum Value: Sendable {
        /// true or false; false is not written.
        case flag(WritableKeyPath<IndexSpec, Bool> & Sendable)
        /// A whole number of seconds, zero or more.
        case seconds(WritableKeyPath<IndexSpec, Int?> & Sendable)
        case document(WritableKeyPath<IndexSpec, Document?> & Sendable)
        /// A document compared by `IndexSpec.collation(_:satisfies:)`: the server fills in defaults.
        case collation(WritableKeyPath<IndexSpec, Document?> & Sendable)
    }

    /// How an existing index must stand to a wanted one on this option (see IndexComparison.swift).
    package enum Rule: Sendable {
        /// The same on both (collation: the existing one satisfies the wanted one).
        case equal
        /// The same when the wanted index sets it; an existing one may set it when not wanted.
        case equalWhenWanted
        /// The wanted index must not set it.
        case unsetInWanted
        /// Neither index may set it.
        case unsetInBoth
        /// The existing index must not set it.
        case unsetInExisting
        /// Not compared.
        case ignored
    }

    /// The field name in spec and migration files (snake_case).
    package let specName: String
    /// The field name in `createIndexes` and `listIndexes`.
    package let serverName: String
    package let value: Value
    /// How an existing index with the same keys must match a wanted one (`IndexSpec.satisfies`).
    package let sameKeys: Rule
    /// How a longer index must match a wanted one to serve it with its leading keys (`IndexSpec.servesAsPrefix`).
    package let prefix: Rule

    init(_ specName: String, server serverName: String, _ value: Value, sameKeys: Rule, prefix: Rule) {
        self.specName = specName
        self.serverName = serverName
        self.value = value
        self.sameKeys = sameKeys
        self.prefix = prefix
    }

    /// The option's value as `createIndexes` takes it; nil when unset.
    package func value(in spec: IndexSpec) -> BSONValue? {
        switch value {
        case .flag(let path): return spec[keyPath: path] ? .bool(true) : nil
        case .seconds(let path): return spec[keyPath: path].map { .int64(Int64($0)) }
        case .document(let path), .collation(let path): return spec[keyPath: path].map(BSONValue.document)
        }
    }

    /// Sets the option from a server or spec value; nil (or a value of another type) unsets it.
    package func set(_ bson: BSONValue?, in spec: inout IndexSpec) {
        switch value {
        case .flag(let path): spec[keyPath: path] = bson?.boolValue ?? bson?.doubleValue.map { $0 != 0 } ?? false
        case .seconds(let path): spec[keyPath: path] = bson?.intValue
        case .document(let path), .collation(let path): spec[keyPath: path] = bson?.documentValue
        }
    }

    /// The value for messages: true/false for flags, "none" for unset values.
    package func text(in spec: IndexSpec) -> String {
        switch (value, value(in: spec)) {
        case (.flag(let path), _): return "\(spec[keyPath: path])"
        case (_, nil): return "none"
        case (_, .document(let document)?): return document.relaxedJSON
        case (_, let other?): return other.intValue.map(String.init) ?? "\(other)"
        }
    }
}
