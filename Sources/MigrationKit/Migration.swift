import Crypto
import Foundation
import MongoKit
import SpecSupport

/// An operation of a migration file with the line it was written on.
public struct MigrationStep: Equatable, Sendable {
    public let operation: MigrationOperation
    public let line: Int?
}

/// One versioned migration file, `Migrations/{version}_{title}.yml`:
///
///     description: Indexes the recordings queries need
///     up:
///       - create_indexes:
///           collection: recordings
///           indexes:
///             - keys: {end_time: 1}
///             - keys: {uuid: 1}
///     down:            # optional when every operation of `up` can be reversed by itself
///       - drop_index: {collection: recordings, name: end_time_1}
public struct Migration: Sendable {
    public let version: Int
    public let title: String
    public let file: String
    /// SHA-256 of the file's bytes, hex.
    public let checksum: String
    public let description: String?
    public let up: [MigrationStep]
    /// The written `down:`, or the reverse derived from `up`.
    public let down: [MigrationStep]
    public let downIsDerived: Bool

    static let fields = ["description", "up", "down"]

    /// Reads and checks a migration file; every error names the file, and the line where there is one.
    public static func load(path: String) throws -> Migration {
        let (version, title) = try versionAndTitle(ofFile: path)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SpecError(file: path, line: nil, column: nil, field: "", message: "cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SpecError(file: path, line: nil, column: nil, field: "", message: "the file is not UTF-8 text")
        }
        return try Migration(text: text, file: path, version: version, title: title, checksum: sha256(data))
    }

    public init(text: String, file: String, version: Int, title: String, checksum: String) throws {
        self.version = version
        self.title = title
        self.file = file
        self.checksum = checksum
        let fields = try SpecNode.parse(text, file: file).fields(allowed: Self.fields)
        description = try fields["description"]?.string()
        up = try Self.steps(try fields.required("up"))
        try Self.checkOneCreateIndexesPerCollection(up, node: try fields.required("up"))
        if let downNode = fields["down"] {
            down = try Self.steps(downNode)
            downIsDerived = false
        } else {
            var reverse: [MigrationStep] = []
            for step in up.reversed() {
                guard let operations = step.operation.derivedReverse else {
                    throw SpecError(
                        file: file, line: step.line, column: nil, field: "up",
                        message: "\(Self.name(of: step.operation)) cannot be reversed by itself; add a `down:` list that undoes this migration")
                }
                reverse += operations.map { MigrationStep(operation: $0, line: step.line) }
            }
            down = reverse
            downIsDerived = true
        }
    }

    private static func steps(_ node: SpecNode) throws -> [MigrationStep] {
        let items = try node.array()
        guard !items.isEmpty else { throw node.error("list at least one operation") }
        return try items.map { MigrationStep(operation: try MigrationOperation.parse($0), line: $0.line) }
    }

    /// All indexes of one collection go to the server in one `createIndexes` command, so one migration
    /// names each collection in at most one `create_indexes`.
    private static func checkOneCreateIndexesPerCollection(_ steps: [MigrationStep], node: SpecNode) throws {
        var firstLine: [String: Int?] = [:]
        for step in steps {
            guard case .createIndexes(let collection, _) = step.operation else { continue }
            if let earlier = firstLine[collection] {
                throw SpecError(
                    file: node.file, line: step.line, column: nil, field: "up",
                    message: "a second create_indexes for '\(collection)' (the first is on line \(earlier.map(String.init) ?? "?")); "
                        + "list all its indexes in one, they are built by one createIndexes command")
            }
            firstLine[collection] = step.line
        }
    }

    static func name(of operation: MigrationOperation) -> String {
        switch operation {
        case .createIndexes: return "create_indexes"
        case .dropIndex: return "drop_index"
        case .hideIndex: return "hide_index"
        case .unhideIndex: return "unhide_index"
        case .setValidator: return "set_validator"
        }
    }

    /// The version and title in a file name such as `0003_hide_legacy_index.yml`.
    public static func versionAndTitle(ofFile path: String) throws -> (Int, String) {
        let name = (path as NSString).lastPathComponent
        let stem = (name as NSString).deletingPathExtension
        let digits = stem.prefix { $0.isASCII && $0.isNumber }
        let rest = stem.dropFirst(digits.count)
        guard !digits.isEmpty, let version = Int(digits), rest.hasPrefix("_"), rest.count > 1 else {
            throw SpecError(
                file: path, line: nil, column: nil, field: "",
                message: "the file name must be a version number, an underscore and a title, as in 0001_create_indexes.yml")
        }
        return (version, String(rest.dropFirst()))
    }

    static func sha256(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}
