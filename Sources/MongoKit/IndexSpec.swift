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
/// auditor compares. Options not modelled here are kept in `document`.
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

    /// Reads an entry of `listIndexes`.
    public init(document: Document) {
        let keyDocument = document["key"]?.documentValue ?? Document()
        var other = Document()
        let modelled: Set<String> = [
            "v", "key", "name", "unique", "sparse", "partialFilterExpression", "expireAfterSeconds", "collation",
            "hidden", "ns", "background",
        ]
        for (key, value) in document.elements where !modelled.contains(key) { other.append(key, value) }
        self.init(
            keys: keyDocument.elements.map { IndexKey(field: $0.0, value: $0.1) },
            name: document["name"]?.stringValue,
            unique: document["unique"]?.boolValue ?? false,
            sparse: document["sparse"]?.boolValue ?? false,
            partialFilterExpression: document["partialFilterExpression"]?.documentValue,
            expireAfterSeconds: document["expireAfterSeconds"]?.intValue,
            collation: document["collation"]?.documentValue,
            hidden: document["hidden"]?.boolValue ?? false,
            otherOptions: other)
    }

    /// The key pattern as a document, in order.
    public var keyDocument: Document { Document(keys.map { ($0.field, $0.bsonValue) }) }

    /// The entry for a `createIndexes` command. Only options that are set are written; `background` never is.
    public var document: Document {
        var document: Document = ["key": .document(keyDocument), "name": .string(name)]
        if unique { document.append("unique", true) }
        if sparse { document.append("sparse", true) }
        if let partialFilterExpression { document.append("partialFilterExpression", .document(partialFilterExpression)) }
        if let expireAfterSeconds { document.append("expireAfterSeconds", .int64(Int64(expireAfterSeconds))) }
        if let collation { document.append("collation", .document(collation)) }
        if hidden { document.append("hidden", true) }
        for (key, value) in otherOptions.elements { document.append(key, value) }
        return document
    }

    /// The name MongoDB gives an index by default: `field_direction` pairs joined with "_".
    public static func defaultName(for keys: [IndexKey]) -> String {
        keys.map { "\($0.field)_\($0.kind)" }.joined(separator: "_")
    }

    public var isIDIndex: Bool { keys == [IndexKey(field: "_id", direction: 1)] }
}
