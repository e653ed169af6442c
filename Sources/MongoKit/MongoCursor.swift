import CMongoc
import Foundation

/// A server cursor that the caller iterates lazily. Collections hand it out only inside a closure and
/// destroy it when the closure returns, so a cursor never outlives its scope or its pooled client.
/// One thread uses it at a time: the prefetching scan hands it to its reader thread and closes it only
/// after that thread has finished, which is what makes it safe to send.
public final class MongoCursor: @unchecked Sendable {
    private let client: MongoClient
    @exclusivity(unchecked) private var mongocClient: OpaquePointer?
    private let ownsClient: Bool
    @exclusivity(unchecked) private var pointer: OpaquePointer?
    private let iterators = IteratorPair()

    /// Wraps a libmongoc cursor. With `owned`, the pooled client goes back to the pool on close.
    init(client: MongoClient, owned mongoc: OpaquePointer, pointer: OpaquePointer?) {
        self.client = client
        mongocClient = mongoc
        ownsClient = true
        self.pointer = pointer
    }

    init(client: MongoClient, borrowed mongoc: OpaquePointer, pointer: OpaquePointer?) {
        self.client = client
        mongocClient = mongoc
        ownsClient = false
        self.pointer = pointer
    }

    /// The next document, copied out of the batch, or nil at the end.
    public func next() throws -> Document? {
        try nextRaw().map { Document(copying: $0) }
    }

    /// Calls `body` with a borrowed view of the next document (no copy, no Swift values built), or
    /// returns nil at the end. The view is valid only during `body`.
    package func nextView<T>(_ body: (DocumentView) throws -> T) throws -> T? {
        guard let raw = try nextRaw() else { return nil }
        return try body(DocumentView(pointer: raw, iterators: iterators))
    }

    /// Visits every remaining document through a borrowed view: the fast path for full scans.
    package func forEachView(_ body: (DocumentView) throws -> Void) throws {
        while try nextView(body) != nil {}
    }

    /// Every remaining document (for small results only).
    public func all() throws -> [Document] {
        var result: [Document] = []
        while let document = try next() { result.append(document) }
        return result
    }

    private func nextRaw() throws -> OpaquePointer? {
        guard let pointer else { return nil }
        var current: OpaquePointer?
        if mongoc_cursor_next(pointer, &current), let current { return current }
        let error = ma_error_new()!
        defer { ma_error_free(error) }
        var reply: OpaquePointer?
        if mongoc_cursor_error_document(pointer, error, &reply) {
            let replyDocument = reply.map { Document(copying: $0) }
            throw MongoError.from(error, reply: replyDocument, redactor: client.redactor)
        }
        return nil
    }

    /// Destroys the server cursor (killCursors if still open) and returns the pooled client.
    public func close() {
        if let pointer { mongoc_cursor_destroy(pointer) }
        pointer = nil
        if ownsClient, let mongocClient { client.release(mongocClient) }
        mongocClient = nil
    }

    deinit { close() }
}
