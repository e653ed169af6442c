import Foundation
import MongoKit
import SpecSupport

/// The collections a database must have: present, real collections (not views) unless views are allowed,
/// and optionally carrying a validator.
public struct RequiredCollectionsCheck: Check {
    public static let description = CheckDescription(
        identifier: "required_collections",
        name: "Required collections",
        summary: "Each named collection exists, is a collection rather than a view (unless allowed), "
            + "and has a validator when one is required.",
        defaultSeverity: .critical,
        needs: "listCollections on the database (the read role)",
        options: [
            CheckOption("collections", "list of names", "collections that must exist", required: true),
            CheckOption("allow_views", "bool", "accept a view of that name (default false)"),
            CheckOption("require_validator", "bool", "each collection must have a validator (default false)"),
        ])

    public static let examples = [
        CheckExample(
            "both collections exist", setup: [["create": "recordings"], ["create": "metadata"]],
            entry: "collections: [recordings, metadata]", passes: true),
        CheckExample(
            "metadata is missing", setup: [["create": "recordings"]],
            entry: "collections: [recordings, metadata]", passes: false),
        CheckExample(
            "recordings is a view", setup: [["create": "raw"], ["create": "recordings", "viewOn": "raw", "pipeline": []]],
            entry: "collections: [recordings]", passes: false),
        CheckExample(
            "a view is allowed", setup: [["create": "raw"], ["create": "recordings", "viewOn": "raw", "pipeline": []]],
            entry: "collections: [recordings]\nallow_views: true", passes: true),
        CheckExample(
            "a validator is required but missing", setup: [["create": "recordings"]],
            entry: "collections: [recordings]\nrequire_validator: true", passes: false),
        CheckExample(
            "a validator is required and present",
            setup: [["create": "recordings", "validator": ["$jsonSchema": ["required": ["uuid"]]]]],
            entry: "collections: [recordings]\nrequire_validator: true", passes: true),
    ]

    let names: [String]
    let allowViews: Bool
    let requireValidator: Bool
    public var collection: String? { nil }

    public init(options: SpecFields) throws {
        names = try options.required("collections").stringArray()
        allowViews = try options["allow_views"]?.bool() ?? false
        requireValidator = try options["require_validator"]?.bool() ?? false
    }

    public func run(in context: AuditContext, severity: Severity) throws -> [Finding] {
        let infos = try context.collections()
        let id = Self.description.identifier
        var findings: [Finding] = []
        for name in names {
            guard let info = infos.first(where: { $0.name == name }) else {
                findings.append(
                    Finding(
                        check: id, collection: name, severity: severity,
                        title: "collection '\(name)' does not exist",
                        impact: "Code that reads or writes '\(name)' finds nothing, or creates it implicitly "
                            + "without its indexes and validator.",
                        fix: context.shellCommand(["create": .string(name)])))
                continue
            }
            if info.kind == .view && !allowViews {
                findings.append(
                    Finding(
                        check: id, collection: name, severity: severity,
                        title: "'\(name)' is a view on '\(info.viewOn ?? "?")', not a collection",
                        impact: "Views are read-only and cannot carry indexes of their own; writes to it fail.",
                        details: ["viewOn": info.viewOn ?? ""]))
            }
            if requireValidator && info.kind != .view && info.validator == nil {
                findings.append(
                    Finding(
                        check: id, collection: name, severity: severity,
                        title: "collection '\(name)' has no validator",
                        impact: "The server accepts documents of any shape, so malformed documents go unnoticed.",
                        fix: context.shellCommand([
                            "collMod": .string(name), "validator": ["$jsonSchema": ["bsonType": "object"]],
                            "validationLevel": "moderate",
                        ])))
            }
        }
        return findings
    }
}
