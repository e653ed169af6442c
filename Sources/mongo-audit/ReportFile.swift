import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where `--output` writes a report, checked before the audit starts so that a bad path costs no audit.
/// A regular file (new, or at the end of a symlink, which stays a symlink) is replaced atomically: the
/// report goes to a temporary file beside it, then is renamed over it. A FIFO, a device, a socket or a path
/// under /dev or /proc (`/dev/stdout`) is written through as a stream, never replaced. The files the
/// command reads (the spec, migration files) are refused.
struct ReportFile {
    enum Kind {
        case replace(resolved: String)
        case stream
    }

    let path: String
    let kind: Kind

    struct Refusal: Error, CustomStringConvertible {
        let description: String
    }

    init(path: String, protecting inputs: [String]) throws {
        self.path = path
        guard !path.isEmpty else { throw Refusal(description: "--output needs a path") }
        if path.hasPrefix("/dev/") || path.hasPrefix("/proc/") {
            guard access(path, W_OK) == 0 else { throw Refusal(description: "cannot write the report to \(path): \(Self.reason())") }
            kind = .stream
            return
        }
        let resolved = Self.resolve(path)
        for input in inputs where Self.resolve(input) == resolved {
            throw Refusal(description: "--output \(path) is \(input), which this command reads; refusing to overwrite it")
        }
        var info = stat()
        if stat(resolved, &info) == 0 {
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                guard access(resolved, W_OK) == 0 else { throw Refusal(description: "cannot write the report to \(path): \(Self.reason())") }
                kind = .replace(resolved: resolved)
            case S_IFDIR:
                throw Refusal(description: "--output \(path) is a directory")
            default:
                guard access(resolved, W_OK) == 0 else { throw Refusal(description: "cannot write the report to \(path): \(Self.reason())") }
                kind = .stream
            }
        } else {
            let directory = (resolved as NSString).deletingLastPathComponent
            guard access(directory.isEmpty ? "." : directory, W_OK) == 0 else {
                throw Refusal(description: "cannot write the report to \(path): \(Self.reason()) (directory \(directory.isEmpty ? "." : directory))")
            }
            kind = .replace(resolved: resolved)
        }
    }

    /// `--output` checked before any work, or nil without one; a refusal is printed and exits as invalid input.
    static func checked(_ path: String?, protecting inputs: [String], replacing: Bool = true) throws -> ReportFile? {
        guard let path else { return nil }
        do {
            if !replacing, FileManager.default.fileExists(atPath: path) {
                throw Refusal(description: "\(path) exists; give --force to replace it")
            }
            return try ReportFile(path: path, protecting: inputs)
        } catch {
            printError("\(error)")
            throw AuditExit(code: .invalidInput)
        }
    }

    /// Writes the text, or prints why not and exits as invalid input (for commands whose output is the result).
    func writeOrExit(_ text: String) throws {
        do {
            try write(text)
        } catch {
            printError("\(error)")
            throw AuditExit(code: .invalidInput)
        }
    }

    /// Writes the report; on failure the error names the path and the reason.
    func write(_ text: String) throws {
        switch kind {
        case .stream: try writeStream(text)
        case .replace(let resolved): try replace(resolved, with: text)
        }
    }

    private func writeStream(_ text: String) throws {
        let descriptor = open(path, O_WRONLY | O_CLOEXEC | O_APPEND)
        guard descriptor >= 0 else { throw Refusal(description: "cannot write the report to \(path): \(Self.reason())") }
        defer { close(descriptor) }
        try writeAll(text, to: descriptor)
    }

    private func replace(_ resolved: String, with text: String) throws {
        let directory = (resolved as NSString).deletingLastPathComponent
        let name = (resolved as NSString).lastPathComponent
        var template = Array(((directory.isEmpty ? "." : directory) + "/.\(name).mongo-audit-XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw Refusal(description: "cannot write the report to \(path): \(Self.reason())") }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var renamed = false
        defer {
            close(descriptor)
            if !renamed { unlink(temporary) }
        }
        var existing = stat()
        fchmod(descriptor, stat(resolved, &existing) == 0 ? existing.st_mode & 0o7777 : 0o644)
        try writeAll(text, to: descriptor)
        guard fsync(descriptor) == 0, rename(temporary, resolved) == 0 else {
            throw Refusal(description: "cannot write the report to \(path): \(Self.reason())")
        }
        renamed = true
    }

    private func writeAll(_ text: String, to descriptor: Int32) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw Refusal(description: "cannot write the report to \(path): \(Self.reason())") }
            offset += written
        }
    }

    /// The path with symlinks followed (as far as they exist), for comparing and replacing.
    static func resolve(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        if let real = realpath(absolute, nil) {
            defer { free(real) }
            return String(cString: real)
        }
        let directory = (absolute as NSString).deletingLastPathComponent
        guard let realDirectory = realpath(directory, nil) else { return (absolute as NSString).standardizingPath }
        defer { free(realDirectory) }
        return String(cString: realDirectory) + "/" + (absolute as NSString).lastPathComponent
    }

    private static func reason() -> String { String(cString: strerror(errno)) }
}
