import CMongoc
import Foundation

extension MongoCursor {
    /// Visits every remaining document like `forEachView`, but a second thread fetches the next batches
    /// while `body` works on the current one. libmongoc 1.23 answers `exhaust` with ordinary getMore round
    /// trips on MongoDB 5.1 and later, so without this the server waits while the client works and the
    /// client waits while the server builds the next batch. Documents are copied into chunks of about a
    /// megabyte, at most `depth` chunks ahead. `body` returns false to stop early.
    public func forEachViewPrefetched(depth: Int = 3, _ body: (DocumentView) throws -> Bool) throws {
        let queue = ChunkQueue(depth: depth)
        let reader = Thread { [self] in
            queue.produce { chunk in
                // Each returned view is copied before the next one is read.
                try self.nextView { view in chunk.append(view.pointer) } != nil
            }
        }
        reader.start()
        defer { queue.finishConsuming() }
        let header = ma_bson_header_new()!
        defer { ma_bson_header_free(header) }
        let iterators = IteratorPair()
        defer { withExtendedLifetime(iterators) {} }
        while let chunk = try queue.nextFilled() {
            var offset = 0
            var going = true
            while going, offset < chunk.used {
                let document = chunk.storage + offset
                let length = Int(UnsafeRawPointer(document).loadUnaligned(as: Int32.self).littleEndian)
                guard bson_init_static(header, document, length) else { break }
                going = try body(DocumentView(pointer: header, iterators: iterators))
                offset += length
            }
            queue.recycle(chunk)
            if !going { return }
        }
    }
}

/// Raw BSON documents laid end to end, reused from batch to batch. A chunk belongs to one thread at a
/// time: the queue's lock hands it between the reader and the consumer.
final class DocumentChunk: @unchecked Sendable {
    static let targetBytes = 1 << 20
    /// Room past the target, so that the document that fills a chunk rarely makes it grow.
    static let slackBytes = 64 << 10
    @exclusivity(unchecked) private(set) var storage: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) private var capacity: Int
    @exclusivity(unchecked) var used = 0

    init() {
        capacity = Self.targetBytes + Self.slackBytes
        storage = .allocate(capacity: capacity)
    }

    deinit { storage.deallocate() }

    var isFull: Bool { used >= Self.targetBytes }

    func append(_ document: OpaquePointer) {
        let length = Int(ma_bson_len(document))
        if used + length > capacity {
            // A document larger than what is left (up to 16 MB): grow once, keeping what is there.
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: used + length)
            bigger.update(from: storage, count: used)
            storage.deallocate()
            storage = bigger
            capacity = used + length
        }
        (storage + used).update(from: bson_get_data(document), count: length)
        used += length
    }
}

/// A bounded hand-over of chunks from the reading thread to the consuming one, with the reader's error.
final class ChunkQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var free: [DocumentChunk]
    private var filled: [DocumentChunk] = []
    private var readerDone = false
    private var consumerDone = false
    private var failure: Error?

    init(depth: Int) { free = (0..<max(depth, 1)).map { _ in DocumentChunk() } }

    /// On the reading thread: fills free chunks with `read` (false at the end of the cursor) until the end,
    /// an error, or the consumer stops.
    func produce(_ read: (DocumentChunk) throws -> Bool) {
        var more = true
        while more {
            condition.lock()
            while free.isEmpty && !consumerDone { condition.wait() }
            if consumerDone {
                condition.unlock()
                break
            }
            let chunk = free.removeLast()
            condition.unlock()
            chunk.used = 0
            do {
                while !chunk.isFull {
                    more = try read(chunk)
                    if !more { break }
                }
            } catch {
                more = false
                condition.lock()
                failure = error
                condition.unlock()
            }
            condition.lock()
            filled.insert(chunk, at: 0)
            condition.signal()
            condition.unlock()
        }
        condition.lock()
        readerDone = true
        condition.broadcast()
        condition.unlock()
    }

    /// On the consuming thread: the next filled chunk in order, nil at the end, or the reader's error.
    func nextFilled() throws -> DocumentChunk? {
        condition.lock()
        defer { condition.unlock() }
        while filled.isEmpty && !readerDone { condition.wait() }
        if let chunk = filled.popLast() { return chunk }
        if let failure { throw failure }
        return nil
    }

    func recycle(_ chunk: DocumentChunk) {
        condition.lock()
        free.append(chunk)
        condition.signal()
        condition.unlock()
    }

    /// Stops the reader (if it is still going) and waits for it, so the cursor can be destroyed safely.
    func finishConsuming() {
        condition.lock()
        consumerDone = true
        condition.broadcast()
        while !readerDone { condition.wait() }
        condition.unlock()
    }
}
