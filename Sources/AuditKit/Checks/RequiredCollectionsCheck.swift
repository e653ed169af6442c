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
        options: [Options.collections, Options.allowViews, Options.requireValidator])

    enum Options {
        static let collections = TypedOption<[String]>.names("collections", "collections that must exist", required: true)
        static let allowViews = TypedOption<Bool>.flag("allow_views", "accept a view of that name (default false)")
        static let requireValidator = TypedOption<Bool>.flag("require_validator", "each collection must have a validator (default false)")
    }

    public static let examples = [
        CheckExample(
            "both collections exist", setup: [["create": "recordings"], ["create": "metadata"]],
            entry: "collections: [recordings, metadata]"),
        CheckExample(
            "metadata is missing", setup: [["create": "recordings"]],
            entry: "collections: [recordings, metadata]", expect: [ExpectedFinding("metadata/missing_collection", .critical)]),
        CheckExample(
            "recordings is a view", setup: [["create": "raw"], ["create": "recordings", "viewOn": "raw", "pipeline": []]],
            entry: "collections: [recordings]", expect: [ExpectedFinding("recordings/view_not_collection", .critical)]),
        CheckExample(
            "a view is allowed", setup: [["create": "raw"], ["create": "recordings", "viewOn": "raw", "pipeline": []]],
            entry: "collections: [recordings]\nallow_views: true"),
        CheckExample(
            "a validator is required but missing", setup: [["create": "recordings"]],
            entry: "collections: [recordings]\nrequire_validator: true", expect: [ExpectedFinding("recordings/no_validator", .critical)]),
        CheckExample(
            "a validator is required and present",
            setup: [["create": "recordings", "validator": ["$jsonSchema": ["required": ["uuid"]]]]],
            entry: "collections: [recordings]\nrequire_validator: true"),
    ]

    let names: [String]
    let allowViews: Bool
    let requireValidator: Bool
    public var collection: String? { nil }

    public init(collections: [String], allowViews: Bool = false, requireValidator: Bool = false) {
        names = collections
        self.allowViews = allowViews
        self.requireValidator = requireValidator
    }

    public init(options: SpecFields) throws {
        self.init(
            collections: try options.required(Options.collections), allowViews: try options.value(Options.allowViews, default: false),
            requireValidator: try options.value(Options.requireValidator, default: false))
    }

    public func run(in context: AuditContext, severity: Severity) throws -> CheckOutput {
        let infos = try context.collections()
        var findings: [Finding] = []
        for name in names {
            guard let info = infos.first(where: { $0.name == name }) else {
                findings.append(
                    finding(
                        "missing_collection", in: name, severity: severity,
                        title: "collection '\(name)' does not exist",
                        impact: "Code that reads or writes '\(name)' finds nothing, or creates it implicitly "
                            + "without its indexes and validator.",
                        fix: context.shellCommand(["create": .string(name)])))
                continue
            }
            if info.kind == .view && !allowViews {
                findings.append(
                    finding(
                        "view_not_collection", in: name, severity: severity,
                        title: "'\(name)' is a view on '\(info.viewOn ?? "?")', not a collection",
                        impact: "Views are read-only and cannot carry indexes of their own; writes to it fail.",
                        facts: [("viewOn", info.viewOn ?? "")]))
            }
            if requireValidator && info.kind != .view && info.validator == nil {
                findings.append(
                    finding(
                        "no_validator", in: name, severity: severity,
                        title: "collection '\(name)' has no validator",
                        impact: "The server accepts documents of any shape, so malformed documents go unnoticed.",
                        fix: context.shellCommand([
                            "collMod": .string(name), "validator": ["$jsonSchema": ["bsonType": "object"]],
                            "validationLevel": "moderate",
                        ])))
            }
        }
        return CheckOutput(findings: findings, metrics: ["collectionsRequired": .count(names.count), "collectionsInDatabase": .count(infos.count)])
    }
}

extension RequiredCollectionsCheck {
    /// Every collection profiled, once for the database.
    public static func starterEntries(_ input: StarterInput) throws -> [StarterEntry] {
        guard input.collection == nil else { return [] }
        return [
            StarterEntry([
                ("collections", .list(input.profile.collections.map(\.collection).filter(StarterInput.survivesLoading).map(StarterValue.text), flow: true))
            ])
        ]
    }
}
