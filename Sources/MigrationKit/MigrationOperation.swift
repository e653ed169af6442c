import Foundation
import MongoKit
import SpecSupport

/// One change a migration makes to a collection. Every operation is idempotent on the server (an index that
/// exists with the same spec is not built again, a missing index is not dropped twice), so an interrupted
/// migration can be run again from its first operation.
public enum MigrationOperation: Equatable, Sendable {
    case createIndexes(collection: String, indexes: [IndexSpec])
    case dropIndex(collection: String, name: String)
    case hideIndex(collection: String, name: String)
    case unhideIndex(collection: String, name: String)
    /// `jsonSchema` empty removes the validator.
    case setValidator(collection: String, jsonSchema: Document, level: String?, action: String?)

    public static let names = ["create_indexes", "drop_index", "hide_index", "unhide_index", "set_validator"]
    static let validationLevels = ["off", "strict", "moderate"]
    static let validationActions = ["error", "warn"]

    public var collection: String {
        switch self {
        case .createIndexes(let c, _), .dropIndex(let c, _), .hideIndex(let c, _), .unhideIndex(let c, _),
            .setValidator(let c, _, _, _):
            return c
        }
    }

    /// The reverse, when it follows from the operation itself; drops and validators need a written one.
    public var derivedReverse: [MigrationOperation]? {
        switch self {
        case .createIndexes(let collection, let indexes):
            return indexes.reversed().map { .dropIndex(collection: collection, name: $0.name) }
        case .hideIndex(let collection, let name): return [.unhideIndex(collection: collection, name: name)]
        case .unhideIndex(let collection, let name): return [.hideIndex(collection: collection, name: name)]
        case .dropIndex, .setValidator: return nil
        }
    }

    /// The command sent to the server (create_indexes gets its commit quorum added by the runner).
    public func command(commitQuorum: BSONValue? = nil) -> Document {
        switch self {
        case .createIndexes(let collection, let indexes):
            var command: Document = ["createIndexes": .string(collection), "indexes": .array(indexes.map { .document($0.document) })]
            if let commitQuorum { command.append("commitQuorum", commitQuorum) }
            return command
        case .dropIndex(let collection, let name):
            return ["dropIndexes": .string(collection), "index": .string(name)]
        case .hideIndex(let collection, let name):
            return ["collMod": .string(collection), "index": ["name": .string(name), "hidden": true]]
        case .unhideIndex(let collection, let name):
            return ["collMod": .string(collection), "index": ["name": .string(name), "hidden": false]]
        case .setValidator(let collection, let schema, let level, let action):
            var command: Document = [
                "collMod": .string(collection), "validator": schema.isEmpty ? [:] : ["$jsonSchema": .document(schema)],
            ]
            if let level { command.append("validationLevel", .string(level)) }
            if let action { command.append("validationAction", .string(action)) }
            return command
        }
    }

    /// What the operation changes, in one line.
    public var summary: String {
        switch self {
        case .createIndexes(let collection, let indexes):
            let list = indexes.map { "\($0.name) {\($0.keys.map(\.description).joined(separator: ", "))}\(Self.options(of: $0))" }
            return "\(collection): create \(indexes.count == 1 ? "index" : "indexes") \(list.joined(separator: "; ")) in one createIndexes command"
        case .dropIndex(let collection, let name): return "\(collection): drop index \(name)"
        case .hideIndex(let collection, let name): return "\(collection): hide index \(name) from the query planner (still maintained)"
        case .unhideIndex(let collection, let name): return "\(collection): unhide index \(name) (the query planner uses it again)"
        case .setValidator(let collection, let schema, let level, let action):
            if schema.isEmpty { return "\(collection): remove the validator" }
            let extras = [level.map { "level \($0)" }, action.map { "action \($0)" }].compactMap { $0 }
            return "\(collection): set the $jsonSchema validator" + (extras.isEmpty ? "" : " (\(extras.joined(separator: ", ")))")
        }
    }

    /// The options an index sets, by their names in migration files: ` (unique, partial_filter {...})`.
    static func options(of index: IndexSpec) -> String {
        let options = IndexSpec.options.compactMap { option -> String? in
            guard option.value(in: index) != nil else { return nil }
            if case .flag = option.value { return option.specName }
            return "\(option.specName) \(option.text(in: index))"
        }
        return options.isEmpty ? "" : " (" + options.joined(separator: ", ") + ")"
    }
}

extension MigrationOperation {
    /// Reads one list entry of `up:` or `down:`, a mapping with exactly one operation name as its key.
    static func parse(_ node: SpecNode) throws -> MigrationOperation {
        let entries = try node.mapping(allowed: names)
        guard entries.count == 1 else {
            throw node.error("an operation is a mapping with one key, one of: \(names.joined(separator: ", "))")
        }
        let (name, body) = (entries[0].key, entries[0].value)
        switch name {
        case "create_indexes":
            let fields = try body.fields(allowed: ["collection", "indexes"])
            let indexesNode = try fields.required("indexes")
            let entries = try indexesNode.array()
            guard !entries.isEmpty else { throw indexesNode.error("the list must not be empty") }
            let indexes = try entries.map { try $0.indexSpec() }
            var seen: [String: SpecNode] = [:]
            for (entry, index) in zip(entries, indexes) where seen.updateValue(entry, forKey: index.name) != nil {
                throw entry.error("a second index named '\(index.name)'; give each index its own name")
            }
            return .createIndexes(collection: try collectionName(fields), indexes: indexes)
        case "drop_index", "hide_index", "unhide_index":
            let fields = try body.fields(allowed: ["collection", "name"])
            let collection = try collectionName(fields)
            let index = try fields.required("name").string()
            if index == "_id_" { throw try fields.required("name").error("the _id index cannot be dropped or hidden") }
            switch name {
            case "drop_index": return .dropIndex(collection: collection, name: index)
            case "hide_index": return .hideIndex(collection: collection, name: index)
            default: return .unhideIndex(collection: collection, name: index)
            }
        default:
            let fields = try body.fields(allowed: ["collection", "json_schema", "level", "action"])
            let schemaNode = try fields.required("json_schema")
            guard case .mapping = schemaNode.node else { throw schemaNode.error("expected a mapping (the $jsonSchema; {} removes the validator)") }
            return .setValidator(
                collection: try collectionName(fields), jsonSchema: try schemaNode.document(),
                level: try fields["level"].map { try choice($0, validationLevels) },
                action: try fields["action"].map { try choice($0, validationActions) })
        }
    }

    private static func collectionName(_ fields: SpecFields) throws -> String {
        let node = try fields.required("collection")
        let name = try node.string()
        guard !name.hasPrefix("system."), !name.contains("$") else { throw node.error("'\(name)' is not a collection name") }
        return name
    }

    private static func choice(_ node: SpecNode, _ allowed: [String]) throws -> String {
        let value = try node.string()
        guard allowed.contains(value) else { throw node.error("expected one of: \(allowed.joined(separator: ", "))") }
        return value
    }
}
