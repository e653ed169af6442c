import Foundation

/// Raw BSON documents laid end to end, reused from batch to batch: what a scan's reading thread hands to
/// the thread that walks them.
///
/// `@unchecked Sendable` is sound because a chunk belongs to one thread at a time: `ChunkQueue`'s lock hands
/// it from the reader (which fills it) to the consumer (which walks it) and back, and nobody keeps it
/// after handing it on. Its storage is manually allocated (freed in deinit) so the per-document copy
/// checks no array's uniqueness; every read stays below `used`, which only `append` raises.
package final class DocumentChunk: @unchecked Sendable {
    static let targetBytes = 1 << 20
    /// Room past the target, so that the document that fills a chunk rarely makes it grow.
    static let slackBytes = 64 << 10
    // Unchecked exclusivity: the storage pointer and counters are touched per document, by the one
    // thread that holds the chunk (see above), so no two accesses can overlap.
    @exclusivity(unchecked) private var storage: UnsafeMutableRawPointer
    @exclusivity(unchecked) private var capacity: Int
    @exclusivity(unchecked) private var used = 0

    package init() {
        capacity = Self.targetBytes + Self.slackBytes
        storage = .allocate(byteCount: capacity, alignment: 8)
    }

    deinit { storage.deallocate() }

    package var isFull: Bool { used >= Self.targetBytes }

    /// Empties the chunk, keeping its memory.
    package func removeAll() { used = 0 }

    /// Copies a document's bytes to the end.
    package func append(_ document: UnsafeRawBufferPointer) {
        let length = document.count
        if used + length > capacity {
            // A document larger than what is left (up to 16 MB): grow once, keeping what is there.
            let bigger = UnsafeMutableRawPointer.allocate(byteCount: used + length, alignment: 8)
            bigger.copyMemory(from: storage, byteCount: used)
            storage.deallocate()
            storage = bigger
            capacity = used + length
        }
        if let base = document.baseAddress { (storage + used).copyMemory(from: base, byteCount: length) }
        used += length
    }

    /// Calls `body` with each document's bytes in order, until it returns false. A length prefix that does
    /// not fit what is left ends the walk (appended documents always fit).
    package func forEachDocument(_ body: (UnsafeRawBufferPointer) throws -> Bool) rethrows {
        var offset = 0
        while offset + 5 <= used {
            let length = Int(Int32(littleEndian: (storage + offset).loadUnaligned(as: Int32.self)))
            guard length >= 5, length <= used - offset else { return }
            guard try body(UnsafeRawBufferPointer(start: storage + offset, count: length)) else { return }
            offset += length
        }
    }
}

/// A bounded hand-over of chunks from the reading thread to the consuming one, with the reader's error.
/// `@unchecked Sendable` is sound because every stored property is read and written only under `condition`.
package final class ChunkQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var free: [DocumentChunk]
    private var filled: [DocumentChunk] = []
    private var readerDone = false
    private var consumerDone = false
    private var failure: Error?

    package init(depth: Int) { free = (0..<max(depth, 1)).map { _ in DocumentChunk() } }
    /// On the reading thread: fills free chunks with `read` (false at the end of the cursor) until the end,
    /// an error, or the consumer stops.
    package func produce(_ read: (DocumentChunk) throws -> Bool) {
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
            chunk.removeAll()
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
    package func nextFilled() throws -> DocumentChunk? {
        condition.lock()
        defer { condition.unlock() }
        while filled.isEmpty && !readerDone { condition.wait() }
        if let chunk = filled.popLast() { return chunk }
        if let failure { throw failure }
        return nil
    }

    package func recycle(_ chunk: DocumentChunk) {
        condition.lock()
        free.append(chunk)
        condition.signal()
        condition.unlock()
    }

    /// Stops the reader (if it is still going) and waits for it, so the cursor can be destroyed safely.
    package func finishConsuming() {
        condition.lock()
        consumerDone = true
        condition.broadcast()
        while !readerDone { condition.wait() }
        condition.unlock()
    }
}
