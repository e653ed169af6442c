import Crypto
import SpecSupport
import Foundation

/// A check as a spec configures it.
public struct ConfiguredCheck {
    public let check: any Check
    public let severity: Severity
    /// The spec's `time_limit_ms`, if it sets one.
    public let timeLimitMS: Int?
    public let line: Int?

    public var identifier: String { type(of: check).description.identifier }
}

/// A parsed, validated spec file: what a database must look like. Parsing fails closed: an unknown check,
/// an unknown option or a wrongly typed value is an error naming file, line and field.
public struct AuditSpec {
    public static let currentVersion = 1
    static let topLevelFields = ["version", "database", "description", "checks"]

    public let file: String
    public let database: String?
    public let description: String?
    public let checks: [ConfiguredCheck]
    /// SHA-256 of the file's bytes, so a report says exactly which spec it applied.
    public let sha256: String

    public static func load(path: String) throws -> AuditSpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SpecError(file: path, line: nil, column: nil, field: "", message: "cannot read the spec file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SpecError(file: path, line: nil, column: nil, field: "", message: "the spec is not UTF-8 text")
        }
        return try AuditSpec(text: text, file: path, sha256: SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined())
    }

    public init(text: String, file: String, sha256: String? = nil) throws {
        self.file = file
        self.sha256 = sha256 ?? SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
        let root = try SpecNode.parse(text, file: file)
        let fields = try root.fields(allowed: Self.topLevelFields)
        let versionNode = try fields.required("version")
        guard try versionNode.int() == Self.currentVersion else {
            throw versionNode.error("unsupported spec version; this mongo-audit reads version \(Self.currentVersion)")
        }
        database = try fields["database"]?.string()
        description = try fields["description"]?.string()
        let entries = try fields.required("checks").array()
        guard !entries.isEmpty else { throw try fields.required("checks").error("the spec names no checks") }
        checks = try entries.map(Self.configure)
    }

    static func configure(_ entry: SpecNode) throws -> ConfiguredCheck {
        let identifierNode = try entry.fields(allowed: allFieldNames(entry)).required("check")
        let identifier = try identifierNode.string()
        guard let type = checkType(identifier: identifier) else {
            let known = builtInChecks.map { $0.description.identifier }.joined(separator: ", ")
            throw identifierNode.error("unknown check '\(identifier)'; known checks: \(known)")
        }
        let fields = try entry.fields(allowed: type.description.allowedFields)
        var severity = type.description.defaultSeverity
        if let severityNode = fields["severity"] {
            let text = try severityNode.string()
            guard let parsed = Severity(rawValue: text) else {
                throw severityNode.error("expected one of critical, high, medium, low, info; got \"\(text)\"")
            }
            severity = parsed
        }
        var timeLimitMS: Int?
        if let limitNode = fields["time_limit_ms"] {
            let limit = try limitNode.int()
            guard limit > 0 else { throw limitNode.error("must be a positive number of milliseconds") }
            timeLimitMS = limit
        }
        return ConfiguredCheck(
            check: try type.init(options: fields), severity: severity, timeLimitMS: timeLimitMS, line: entry.line)
    }

    /// Every key of a mapping, to read `check` before knowing which options are allowed.
    private static func allFieldNames(_ entry: SpecNode) throws -> [String] {
        try entry.mapping().map(\.key)
    }
}
