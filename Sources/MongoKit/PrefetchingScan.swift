import CMongoc
import Foundation
import ScanKernel

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
                try self.nextView { view in view.withUnsafeBytes { chunk.append($0) } } != nil
            }
        }
        reader.start()
        defer { queue.finishConsuming() }
        let header = ma_bson_header_new()!
        defer { ma_bson_header_free(header) }
        let iterators = IteratorPair()
        defer { withExtendedLifetime(iterators) {} }
        while let chunk = try queue.nextFilled() {
            var stopped = false
            try chunk.forEachDocument { document in
                // Copies of documents libmongoc read, so valid BSON; should one not be, the chunk's rest is skipped.
                guard bson_init_static(header, document.baseAddress!.assumingMemoryBound(to: UInt8.self), document.count) else { return false }
                stopped = try !body(DocumentView(pointer: header, iterators: iterators))
                return !stopped
            }
            queue.recycle(chunk)
            if stopped { return }
        }
    }
}
