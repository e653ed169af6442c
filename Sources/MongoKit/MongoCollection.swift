import CMongoc
import Foundation

/// Options of `find`. Unset fields are left to the server's defaults.
public struct FindOptions: Sendable {
    public var projection: Document?
    public var sort: Document?
    public var limit: Int?
    public var skip: Int?
    public var batchSize: Int?
    public var maxTimeMS: Int?
    public var hint: BSONValue?
    public var readPreference: ReadPreference?
    /// Let the server stream every batch without waiting for getMore requests (full scans).
    public var exhaust: Bool

    public init(
        projection: Document? = nil, sort: Document? = nil, limit: Int? = nil, skip: Int? = nil,
        batchSize: Int? = nil, maxTimeMS: Int? = nil, hint: BSONValue? = nil, readPreference: ReadPreference? = nil,
        exhaust: Bool = false
    ) {
        self.exhaust = exhaust
        self.projection = projection
        self.sort = sort
        self.limit = limit
        self.skip = skip
        self.batchSize = batchSize
        self.maxTimeMS = maxTimeMS
        self.hint = hint
        self.readPreference = readPreference
    }

    var document: Document {
        var options = Document()
        if let projection { options.append("projection", .document(projection)) }
        if let sort { options.append("sort", .document(sort)) }
        if let limit { options.append("limit", .int64(Int64(limit))) }
        if let skip { options.append("skip", .int64(Int64(skip))) }
        if let batchSize { options.append("batchSize", .int64(Int64(batchSize))) }
        if let maxTimeMS { options.append("maxTimeMS", .int64(Int64(maxTimeMS))) }
        if let hint { options.append("hint", hint) }
        if exhaust { options.append("exhaust", true) }
        return options
    }
}

/// Options of `aggregate`.
public struct AggregateOptions: Sendable {
    public var allowDiskUse: Bool
    public var batchSize: Int?
    public var maxTimeMS: Int?
    public var hint: BSONValue?
    public var readPreference: ReadPreference?

    public init(
        allowDiskUse: Bool = true, batchSize: Int? = nil, maxTimeMS: Int? = nil, hint: BSONValue? = nil,
        readPreference: ReadPreference? = nil
    ) {
        self.allowDiskUse = allowDiskUse
        self.batchSize = batchSize
        self.maxTimeMS = maxTimeMS
        self.hint = hint
        self.readPreference = readPreference
    }

    var document: Document {
        var options: Document = ["allowDiskUse": .bool(allowDiskUse)]
        if let batchSize { options.append("batchSize", .int64(Int64(batchSize))) }
        if let maxTimeMS { options.append("maxTimeMS", .int64(Int64(maxTimeMS))) }
        if let hint { options.append("hint", hint) }
        return options
    }
}

/// A named collection of a database. Cheap to create: it holds names, not server resources.
public struct MongoCollection: Sendable {
    public let database: MongoDatabase
    public let name: String

    var client: MongoClient { database.client }
    public var namespace: String { "\(database.name).\(name)" }

    /// Runs `body` with a libmongoc collection handle on a pooled client.
    private func withHandle<T>(_ body: (OpaquePointer, OpaquePointer) throws -> T) rethrows -> T {
        try client.withClient { mongoc in
            let handle = mongoc_client_get_collection(mongoc, database.name, name)!
            defer { mongoc_collection_destroy(handle) }
            return try body(mongoc, handle)
        }
    }

    /// Opens a cursor over the documents matching `filter` and hands it to `body`; the cursor is
    /// destroyed when `body` returns or throws.
    public func find<T>(
        _ filter: Document = Document(), options: FindOptions = FindOptions(), _ body: (MongoCursor) throws -> T
    ) throws -> T {
        var options = options
        options.maxTimeMS = options.maxTimeMS ?? client.defaultMaxTimeMS
        let opts = options.document
        let cursor = openCursor { handle in
            (options.readPreference ?? database.readPreference ?? .primary).withPointer { prefs in
                mongoc_collection_find_with_opts(handle, filter.pointer, opts.pointer, prefs)
            }
        }
        defer { cursor.close() }
        return try body(cursor)
    }

    /// Runs an aggregation pipeline and hands its cursor to `body`; the cursor is destroyed afterwards.
    public func aggregate<T>(
        _ pipeline: [Document], options: AggregateOptions = AggregateOptions(), _ body: (MongoCursor) throws -> T
    ) throws -> T {
        let command: Document = ["pipeline": .array(pipeline.map(BSONValue.document))]
        var options = options
        options.maxTimeMS = options.maxTimeMS ?? client.defaultMaxTimeMS
        let opts = options.document
        let cursor = openCursor { handle in
            (options.readPreference ?? database.readPreference ?? .primary).withPointer { prefs in
                mongoc_collection_aggregate(
                    handle, MONGOC_QUERY_NONE, command.pointer, opts.pointer, prefs)
            }
        }
        defer { cursor.close() }
        return try body(cursor)
    }

    /// A cursor that keeps its pooled client until it is closed.
    private func openCursor(_ make: (OpaquePointer) -> OpaquePointer?) -> MongoCursor {
        let mongoc = client.acquireClient()
        let handle = mongoc_client_get_collection(mongoc, database.name, name)!
        // A libmongoc cursor copies what it needs from the collection handle, so the handle can go now.
        defer { mongoc_collection_destroy(handle) }
        return MongoCursor(client: client, owned: mongoc, pointer: make(handle))
    }

    /// The collection's indexes with their full specifications. Empty when the collection does not exist.
    public func listIndexes(maxTimeMS: Int? = nil) throws -> [IndexSpec] {
        let options = client.timeLimitOptions(maxTimeMS)
        return try withHandle { mongoc, handle in
            let cursor = MongoCursor(
                client: client, borrowed: mongoc,
                pointer: mongoc_collection_find_indexes_with_opts(handle, options.pointer))
            defer { cursor.close() }
            return try cursor.all().map(IndexSpec.init(document:))
        }
    }

    /// Creates indexes in one `createIndexes` command. Never sends the deprecated `background` option.
    @discardableResult
    public func createIndexes(
        _ indexes: [IndexSpec], commitQuorum: BSONValue? = nil, maxTimeMS: Int? = nil
    ) throws -> Document {
        var command: Document = [
            "createIndexes": .string(name), "indexes": .array(indexes.map { .document($0.document) }),
        ]
        if let commitQuorum { command.append("commitQuorum", commitQuorum) }
        return try database.runCommand(command, maxTimeMS: maxTimeMS)
    }

    /// Drops one index by name.
    @discardableResult
    public func dropIndex(named indexName: String) throws -> Document {
        try database.runCommand(["dropIndexes": .string(name), "index": .string(indexName)])
    }

    /// Drops several indexes by name in one command.
    @discardableResult
    public func dropIndexes(named names: [String]) throws -> Document {
        try database.runCommand(["dropIndexes": .string(name), "index": .array(names.map(BSONValue.string))])
    }

    /// Inserts documents in one ordered bulk write.
    public func insertMany(_ documents: [Document]) throws {
        guard !documents.isEmpty else { return }
        var pointers: [OpaquePointer?] = documents.map { $0.pointer }
        try withExtendedLifetime(documents) {
            _ = try withHandle { _, handle in
                try client.call { reply, error in
                    mongoc_collection_insert_many(handle, &pointers, pointers.count, nil, reply, error)
                }
            }
        }
    }

    /// Inserts one document.
    public func insertOne(_ document: Document) throws { try insertMany([document]) }

    /// Counts matching documents exactly (an aggregation on the server).
    public func countDocuments(
        _ filter: Document = Document(), maxTimeMS: Int? = nil, readPreference: ReadPreference? = nil
    ) throws -> Int {
        let options = client.timeLimitOptions(maxTimeMS)
        return try withHandle { _, handle in
            try (readPreference ?? database.readPreference ?? .primary).withPointer { prefs in
                var count: Int64 = -1
                _ = try client.call { _, error in
                    count = mongoc_collection_count_documents(
                        handle, filter.pointer, options.pointer, prefs, nil, error)
                    return count >= 0
                }
                return Int(count)
            }
        }
    }

    /// The count from collection metadata: instant, but not exact after an unclean shutdown. Bounded like
    /// every read: a collection locked by another operation must not hold the audit forever.
    public func estimatedDocumentCount(maxTimeMS: Int? = nil) throws -> Int {
        let options = client.timeLimitOptions(maxTimeMS)
        return try withHandle { _, handle in
            try (database.readPreference ?? .primary).withPointer { prefs in
                var count: Int64 = -1
                _ = try client.call { reply, error in
                    count = mongoc_collection_estimated_document_count(handle, options.pointer, prefs, reply, error)
                    return count >= 0
                }
                return Int(count)
            }
        }
    }

    /// Drops the collection; a missing collection is not an error.
    public func drop() throws {
        do {
            try database.runCommand(["drop": .string(name)])
        } catch MongoError.command(let error) where error.code == 26 {  // NamespaceNotFound
        }
    }
}
