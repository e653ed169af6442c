import CMongoc
import Foundation

/// How to connect, beyond what the connection string says. A value given in the URI always wins.
public struct ClientOptions: Sendable {
    public var appName: String
    public var serverSelectionTimeoutMS: Int32
    public var connectTimeoutMS: Int32
    public var socketTimeoutMS: Int32
    /// The `maxTimeMS` of every read (find, aggregate, counts, listCollections, listIndexes) that names
    /// none; nil leaves such reads to the socket timeout. Below the socket timeout by default, so that the
    /// server stops the work rather than go on after the client gave up.
    public var defaultMaxTimeMS: Int?

    public init(
        appName: String = "mongo-audit", serverSelectionTimeoutMS: Int32 = 10_000, connectTimeoutMS: Int32 = 10_000,
        socketTimeoutMS: Int32 = 300_000, defaultMaxTimeMS: Int? = 290_000
    ) {
        self.defaultMaxTimeMS = defaultMaxTimeMS
        self.appName = appName
        self.serverSelectionTimeoutMS = serverSelectionTimeoutMS
        self.connectTimeoutMS = connectTimeoutMS
        self.socketTimeoutMS = socketTimeoutMS
    }
}

/// Where a read may go on a replica set.
public enum ReadPreference: String, Sendable, CaseIterable {
    case primary, primaryPreferred, secondary, secondaryPreferred, nearest

    var mode: mongoc_read_mode_t {
        switch self {
        case .primary: return MONGOC_READ_PRIMARY
        case .primaryPreferred: return MONGOC_READ_PRIMARY_PREFERRED
        case .secondary: return MONGOC_READ_SECONDARY
        case .secondaryPreferred: return MONGOC_READ_SECONDARY_PREFERRED
        case .nearest: return MONGOC_READ_NEAREST
        }
    }

    /// Runs `body` with a libmongoc read-preference object that lives only as long as the call.
    func withPointer<T>(_ body: (OpaquePointer?) throws -> T) rethrows -> T {
        let prefs = mongoc_read_prefs_new(mode)
        defer { mongoc_read_prefs_destroy(prefs) }
        return try body(prefs)
    }
}

/// A connection to a MongoDB deployment (standalone, replica set or `mongodb+srv`), backed by a libmongoc
/// client pool so that it can be shared across threads. TLS and auth options pass through the URI.
/// Sendable: every stored property is a `let`; `pool` is a `mongoc_client_pool_t`, which libmongoc makes
/// thread-safe (pop and push from any thread), and each client popped from it is used by one thread only.
public final class MongoClient: @unchecked Sendable {
    let pool: OpaquePointer
    let redactor: Redactor
    /// The connection string with the password hidden, safe to print.
    public let redactedURI: String
    /// See `ClientOptions.defaultMaxTimeMS`.
    public let defaultMaxTimeMS: Int?

    public convenience init(uri: String, options: ClientOptions = ClientOptions()) throws {
        try self.init(uri: MongoURI(uri), options: options)
    }

    package init(uri: MongoURI, options: ClientOptions = ClientOptions()) throws {
        redactor = uri.redactor
        redactedURI = uri.redacted
        defaultMaxTimeMS = options.defaultMaxTimeMS
        // Parsed again: a mongoc_uri_t is not Sendable, and the defaults below are set on this copy only.
        let error = ma_error_new()!
        defer { ma_error_free(error) }
        guard let parsed = mongoc_uri_new_with_error(uri.text, error) else {
            throw MongoError.invalidURI(redactor.redact(String(cString: ma_error_message(error))))
        }
        defer { mongoc_uri_destroy(parsed) }
        func setDefault(_ name: String, _ value: Int32) {
            if !mongoc_uri_has_option(parsed, name) { mongoc_uri_set_option_as_int32(parsed, name, value) }
        }
        setDefault(MONGOC_URI_SERVERSELECTIONTIMEOUTMS, options.serverSelectionTimeoutMS)
        setDefault(MONGOC_URI_CONNECTTIMEOUTMS, options.connectTimeoutMS)
        setDefault(MONGOC_URI_SOCKETTIMEOUTMS, options.socketTimeoutMS)
        if !mongoc_uri_has_option(parsed, MONGOC_URI_APPNAME) {
            mongoc_uri_set_option_as_utf8(parsed, MONGOC_URI_APPNAME, options.appName)
        }
        guard let pool = mongoc_client_pool_new(parsed) else {
            throw MongoError.invalidURI("libmongoc could not create a client for \(redactedURI) (TLS options?)")
        }
        mongoc_client_pool_set_error_api(pool, Int32(MONGOC_ERROR_API_VERSION_2))
        self.pool = pool
    }

    deinit { mongoc_client_pool_destroy(pool) }

    /// Borrows a client from the pool for the duration of `body`.
    func withClient<T>(_ body: (OpaquePointer) throws -> T) rethrows -> T {
        let client = mongoc_client_pool_pop(pool)!
        defer { mongoc_client_pool_push(pool, client) }
        return try body(client)
    }

    /// Pops a client that the caller must return with `release` (cursors hold one for their whole life).
    func acquireClient() -> OpaquePointer { mongoc_client_pool_pop(pool)! }
    func release(_ client: OpaquePointer) { mongoc_client_pool_push(pool, client) }

    public func database(_ name: String) -> MongoDatabase { MongoDatabase(client: self, name: name) }

    /// Round trip to the server; throws the error a user should see when it cannot be reached.
    @discardableResult
    public func ping() throws -> Document {
        try database("admin").runCommand(["ping": 1])
    }

    /// The server version, e.g. "6.0.5".
    public func serverVersion() throws -> String {
        try database("admin").runCommand(["buildInfo": 1])["version"]?.stringValue ?? "unknown"
    }

    /// Names of the databases the user may list.
    public func listDatabaseNames() throws -> [String] {
        let reply = try database("admin").runCommand(["listDatabases": 1, "nameOnly": true])
        return reply["databases"]?.arrayValue?.compactMap { $0.documentValue?["name"]?.stringValue } ?? []
    }

    /// Operation options holding `maxTimeMS`, else the client's default, if any.
    func timeLimitOptions(_ maxTimeMS: Int?) -> Document {
        var options = Document()
        if let limit = maxTimeMS ?? defaultMaxTimeMS { options.append("maxTimeMS", .int64(Int64(limit))) }
        return options
    }

    /// Runs a libmongoc call that fills a `bson_error_t` and reply, and maps a failure to `MongoError`.
    func call(_ body: (OpaquePointer, UnsafeMutablePointer<bson_error_t>) -> Bool) throws -> Document {
        let error = ma_error_new()!
        defer { ma_error_free(error) }
        let reply = ma_reply_new()!
        let succeeded = body(reply, error)
        let replyDocument = Document(stealing: ma_reply_take(reply)!)
        if succeeded { return replyDocument }
        throw MongoError.from(error, reply: replyDocument, redactor: redactor)
    }
}
