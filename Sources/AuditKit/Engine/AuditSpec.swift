import Crypto
import Foundation
import SpecSupport

/// A check as a spec configures it.
public struct ConfiguredCheck: Sendable {
    public let check: any Check
    public let severity: Severity
    /// The spec's `time_limit_ms`, if it sets one.
    public let timeLimitMS: Int?
    /// The line of its entry in the spec file.
    public let line: Int?
    /// For a document check: above this many documents its collection is audited from a random sample.
    public let maxDocuments: Int?

    public init(check: any Check, severity: Severity? = nil, timeLimitMS: Int? = nil, line: Int? = nil, maxDocuments: Int? = nil) {
        self.check = check
        self.severity = severity ?? type(of: check).description.defaultSeverity
        self.timeLimitMS = timeLimitMS
        self.line = line
        self.maxDocuments = maxDocuments
    }

    public var identifier: String { type(of: check).description.identifier }
}

/// A parsed, validated spec file: what a database must look like. Parsing fails closed: an unknown check,
/// an unknown option or a wrongly typed value is an error naming file, line and field.
public struct AuditSpec: Sendable {
    public static let currentVersion = 1
    static let topLevelFields = ["version", "database", "description", "allow_javascript", "checks", "regressions", "tolerances"]

    public let file: String
    public let database: String?
    public let description: String?
    public let checks: [ConfiguredCheck]
    /// `regressions:`: metrics of the history that must not move past a threshold (see `RegressionRule`).
    package var regressions: [RegressionRule] = []
    /// `tolerances:`: absolute allowed growth of a baselined finding's figures, per check identifier.
    package var tolerances: [String: Double] = [:]
    /// SHA-256 of the file's bytes, so a report says exactly which spec it applied.
    public let sha256: String

    /// A spec built in code: the checks configured, and a name standing for the file in reports.
    public init(checks: [ConfiguredCheck], database: String? = nil, description: String? = nil, name: String = "(spec built in code)") {
        file = name
        self.database = database
        self.description = description
        self.checks = checks
        sha256 = Self.hexDigest(Data(name.utf8))
    }

    public static func load(path: String, registry: CheckRegistry = .builtIn) throws -> AuditSpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SpecError(file: path, line: nil, column: nil, field: "", message: "cannot read the spec file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SpecError(file: path, line: nil, column: nil, field: "", message: "the spec is not UTF-8 text")
        }
        return try AuditSpec(
            text: text, file: path, sha256: hexDigest(data), registry: registry)
    }

    public init(text: String, file: String, sha256: String? = nil, registry: CheckRegistry = .builtIn) throws {
        self.file = file
        self.sha256 = sha256 ?? Self.hexDigest(Data(text.utf8))
        var root = try SpecNode.parse(text, file: file)
        if try root.fields(allowed: Self.topLevelFields)["allow_javascript"]?.bool() == true { root = root.allowingJavaScript() }
        let fields = try root.fields(allowed: Self.topLevelFields)
        let versionNode = try fields.required("version")
        guard try versionNode.int() == Self.currentVersion else {
            throw versionNode.error("unsupported spec version; this mongo-audit reads version \(Self.currentVersion)")
        }
        database = try fields["database"]?.string()
        description = try fields["description"]?.string()
        let entries = try fields.required("checks").array()
        guard !entries.isEmpty else { throw try fields.required("checks").error("the spec names no checks") }
        checks = try entries.map { try Self.configure($0, registry: registry) }
        regressions = try fields["regressions"].map(RegressionRule.parse) ?? []
        tolerances = try fields["tolerances"].map { try RegressionRule.parseTolerances($0, registry: registry) } ?? [:]
    }

    static func configure(_ entry: SpecNode, registry: CheckRegistry) throws -> ConfiguredCheck {
        let identifierNode = try entry.fields(allowed: allFieldNames(entry)).required("check")
        let identifier = try identifierNode.string()
        guard let type = registry.check(identifier: identifier) else {
            throw identifierNode.error("unknown check '\(identifier)'; known checks: \(registry.identifiers.joined(separator: ", "))")
        }
        let fields = try entry.fields(allowed: type.description.allowedFields)
        // Required options are enforced here from their declarations, before the check reads any.
        for option in type.description.options where option.required { _ = try fields.required(option.name) }
        return ConfiguredCheck(
            check: try type.init(options: fields), severity: try fields.value(CheckDescription.severityOption),
            timeLimitMS: try fields.value(CheckDescription.timeLimitOption), line: entry.line,
            maxDocuments: try fields.value(CheckDescription.maxDocumentsOption))
    }

    /// SHA-256 in hex, as reports print it.
    static func hexDigest(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

    /// Every key of a mapping, to read `check` before knowing which options are allowed.
    private static func allFieldNames(_ entry: SpecNode) throws -> [String] {
        try entry.mapping().map(\.key)
    }
}
