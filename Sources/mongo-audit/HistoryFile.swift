import AuditKit
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A JSON Lines history file. Each record is appended with one `write` on a descriptor opened with
/// `O_APPEND`, under an exclusive `flock`, so concurrent audits never interleave or tear records; a write
/// that comes out short is cut back off (the lock is still held), so a failed run leaves nothing partial.
/// Readers take a shared lock. The path is checked like `--output` (not a directory, not the spec).
struct HistoryFile {
    let path: String

    init(path: String, protecting inputs: [String]) throws {
        // The same refusals as --output: a directory, an unwritable place, a file the command reads.
        _ = try ReportFile(path: path, protecting: inputs)
        self.path = path
    }

    /// The records of `database` (all when nil), oldest first, the newest `last` of them when given; a
    /// missing file is an empty history. With `last`, the file is read from its end in growing pieces, so a
    /// long history costs what its tail costs.
    func read(database: String?, last: Int? = nil) throws -> (records: [HistoryRecord], skipped: Int) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT { return ([], 0) }
            throw ReportFile.Refusal(description: "cannot read the history \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        while flock(descriptor, LOCK_SH) != 0 && errno == EINTR {}
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw ReportFile.Refusal(description: "cannot read the history \(path): \(String(cString: strerror(errno)))")
        }
        let size = Int(info.st_size)
        var piece = last == nil ? size : min(size, 256 << 10)
        while true {
            let offset = size - piece
            var bytes = [UInt8](repeating: 0, count: piece)
            var done = 0
            while done < piece {
                let count = bytes[done...].withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(offset + done)) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else {
                    throw ReportFile.Refusal(
                        description: "cannot read the history \(path): \(count < 0 ? String(cString: strerror(errno)) : "it shrank while read")")
                }
                done += count
            }
            // A piece that starts inside a line drops that partial line.
            var start = 0
            if offset > 0, let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) { start = newline + 1 }
            let decoded = HistoryRecord.decode(lines: Array(bytes[start...]), file: path, database: database, last: last)
            if offset == 0 || decoded.records.count >= (last ?? .max) {
                return (decoded.records.sorted { $0.startedAt < $1.startedAt }, decoded.skipped)
            }
            piece = min(size, piece * 4)
        }
    }

    /// Appends one record, whole or not at all.
    func append(_ record: HistoryRecord) throws {
        // Read access too, to look at the last byte; every write still goes to the end (O_APPEND).
        let descriptor = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw failure("cannot open") }
        defer { close(descriptor) }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else { throw failure("cannot lock") }
        }
        defer { flock(descriptor, LOCK_UN) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw failure("cannot stat") }
        let size = info.st_size
        var line = record.line
        // A file whose last line was torn by another program gets a line end first, so this record is whole.
        if size > 0 && !endsWithNewline(descriptor, size: size) { line = "\n" + line }
        let bytes = Array(line.utf8)
        var written = -1
        repeat {
            written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        } while written < 0 && errno == EINTR
        guard written == bytes.count else {
            let reason = written < 0 ? String(cString: strerror(errno)) : "short write (\(written) of \(bytes.count) bytes)"
            _ = ftruncate(descriptor, size)
            throw ReportFile.Refusal(description: "cannot append to the history \(path): \(reason); nothing was recorded")
        }
        guard fsync(descriptor) == 0 else { throw failure("cannot sync") }
    }

    private func endsWithNewline(_ descriptor: Int32, size: off_t) -> Bool {
        var last: UInt8 = 0
        return pread(descriptor, &last, 1, size - 1) == 1 && last == UInt8(ascii: "\n")
    }

    private func failure(_ what: String) -> ReportFile.Refusal {
        ReportFile.Refusal(description: "\(what) the history \(path): \(String(cString: strerror(errno))); nothing was recorded")
    }
}
