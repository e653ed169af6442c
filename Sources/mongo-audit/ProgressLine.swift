import AuditKit
import Foundation

/// A progress line with rate and time left, redrawn in place on stderr (on a terminal only).
/// Sendable: `started` and `lastDrawn` are read and written only while holding `lock`.
final class ProgressLine: @unchecked Sendable {
    private let lock = NSLock()
    private var started: [String: Date] = [:]
    private var lastDrawn = Date.distantPast

    func show(_ progress: ScanProgress) {
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        let start = started[progress.collection] ?? now
        started[progress.collection] = start
        guard progress.finished || now.timeIntervalSince(lastDrawn) >= 0.2 else { return }
        lastDrawn = now
        let elapsed = max(now.timeIntervalSince(start), 0.001)
        let done = progress.documentsDone
        let total = progress.documentsExpected
        let rate = Double(done) / elapsed
        let left = rate > 0 ? Double(max(total - done, 0)) / rate : 0
        let fraction = total > 0 ? min(Double(done) / Double(total), 1) : 0
        let width = 24
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        var line = String(
            format: "\r%@ %@ %3.0f%%  %d/%d docs  %.0f docs/s  %.0fs left ", progress.collection, bar, fraction * 100, done, total, rate, left)
        if progress.finished { line += "\n" }
        FileHandle.standardError.write(Data(line.utf8))
    }
}
