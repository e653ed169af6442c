import CMongoc
import Foundation

/// A named database on a client. Cheap to create: it holds names, not server resources.
public struct MongoDatabase: Sendable {
    public let client: MongoClient
    public let name: String
    /// Where reads of this handle go when an operation names no read preference (the primary when nil).
    public var readPreference: ReadPreference?

    /// This database with its reads sent by `preference` unless an operation says otherwise.
    public func reading(from preference: ReadPreference) -> MongoDatabase {
        var database = self
        database.readPreference = preference
        return database
    }

    public func collection(_ name: String) -> MongoCollection { MongoCollection(database: self, name: name) }

    /// Runs a command. `maxTimeMS` is added to the command unless it already has one.
    @discardableResult
    public func runCommand(
        _ command: Document, readPreference: ReadPreference? = nil, maxTimeMS: Int? = nil
    ) throws -> Document {
        var command = command
        if let maxTimeMS, command["maxTimeMS"] == nil { command.append("maxTimeMS", .int64(Int64(maxTimeMS))) }
        return try client.withClient { mongoc in
            try (readPreference ?? .primary).withPointer { prefs in
                try client.call { reply, error in
                    mongoc_client_command_with_opts(mongoc, name, command.pointer, prefs, nil, reply, error)
                }
            }
        }
    }

    /// The collections and views of the database with their type and options (validators, view pipelines).
    public func listCollections(filter: Document = Document(), maxTimeMS: Int? = nil) throws -> [CollectionInfo] {
        var options = client.timeLimitOptions(maxTimeMS)
        options.append("filter", .document(filter))
        return try client.withClient { mongoc in
            let database = mongoc_client_get_database(mongoc, name)
            defer { mongoc_database_destroy(database) }
            let cursor = MongoCursor(
                client: client, borrowed: mongoc,
                pointer: mongoc_database_find_collections_with_opts(database, options.pointer))
            defer { cursor.close() }
            var result: [CollectionInfo] = []
            while let document = try cursor.next() { result.append(CollectionInfo(document: document)) }
            return result
        }
    }

    /// Drops the whole database (used by tests and the sample generator, never by an audit).
    public func drop() throws {
        try runCommand(["dropDatabase": 1])
    }
}

/// One entry of `listCollections`.
public struct CollectionInfo: Equatable, Sendable {
    public enum Kind: String, Sendable { case collection, view, timeseries, other }

    public let name: String
    public let kind: Kind
    public let options: Document
    /// The raw `listCollections` entry.
    public let document: Document

    public init(document: Document) {
        self.document = document
        name = document["name"]?.stringValue ?? ""
        kind = Kind(rawValue: document["type"]?.stringValue ?? "collection") ?? .other
        options = document["options"]?.documentValue ?? Document()
    }

    /// The collection's validator (`$jsonSchema` or query operators), if it has one.
    public var validator: Document? { options["validator"]?.documentValue }
    /// For a view, the collection it reads from.
    public var viewOn: String? { options["viewOn"]?.stringValue }
}
