import Foundation
import SpecSupport

/// The migration files of a directory (`.yml` and `.yaml`; other files are left alone), in version order.
public struct MigrationDirectory {
    public let path: String
    public let migrations: [Migration]

    /// Reads every file and fails on the first malformed one, before anything touches a server.
    public init(path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SpecError(file: path, line: nil, column: nil, field: "", message: "no migrations directory here")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: path)
            .filter { ["yml", "yaml"].contains(($0 as NSString).pathExtension) }
            .sorted()
            .map { (path as NSString).appendingPathComponent($0) }
        let loaded = try files.map(Migration.load(path:))
        var byVersion: [Int: Migration] = [:]
        for migration in loaded {
            if let other = byVersion.updateValue(migration, forKey: migration.version) {
                throw SpecError(
                    file: migration.file, line: nil, column: nil, field: "",
                    message: "version \(migration.version) is also the version of \(other.file); each migration needs its own")
            }
        }
        migrations = loaded.sorted { $0.version < $1.version }
    }

    public func migration(version: Int) -> Migration? { migrations.first { $0.version == version } }

    /// The path for the next migration: one more than the highest version, as wide as the widest existing one.
    package func nextFile(title: String) throws -> String {
        let slug = title.lowercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
            .split(separator: "_").joined(separator: "_")
        guard !slug.isEmpty else {
            throw SpecError(file: path, line: nil, column: nil, field: "", message: "the title needs letters or digits")
        }
        let next = (migrations.map(\.version).max() ?? 0) + 1
        let existingNames = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        let width = max(4, existingNames.map { $0.prefix { $0.isNumber }.count }.max() ?? 0)
        let version = String(repeating: "0", count: max(0, width - String(next).count)) + String(next)
        return (path as NSString).appendingPathComponent("\(version)_\(slug).yml")
    }

    /// Writes a new migration file and refuses to overwrite one.
    package func write(_ text: String, to file: String) throws {
        guard !FileManager.default.fileExists(atPath: file) else {
            throw SpecError(file: file, line: nil, column: nil, field: "", message: "the file exists already")
        }
        try text.write(toFile: file, atomically: true, encoding: .utf8)
    }
}
