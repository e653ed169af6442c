import AuditKit
import MongoKit
import SpecSupport

/// A check of this application's own: a collection must hold at least a number of documents (an empty
/// `recordings` collection after a deploy means the ingest is down).
struct MinimumDocumentsCheck: Check {
    static let description = CheckDescription(
        identifier: "minimum_documents",
        name: "Minimum documents",
        summary: "The collection holds at least `min` documents (from its metadata count).",
        defaultSeverity: .critical,
        needs: "count on the collection (the read role)",
        options: [Options.collection, Options.minimum])

    enum Options {
        static let collection = TypedOption<String>.collection("the collection to count")
        static let minimum = TypedOption<Int>.integer("min", "the fewest documents allowed", in: 0...Int.max, required: true)
    }

    let collectionName: String
    let minimum: Int
    var collection: String? { collectionName }

    init(collection: String, minimum: Int) {
        collectionName = collection
        self.minimum = minimum
    }

    init(options: SpecFields) throws {
        self.init(collection: try options.required(Options.collection), minimum: try options.required(Options.minimum))
    }

    func run(in context: AuditContext, severity: Severity) throws -> CheckOutput {
        let count = try context.database.collection(collectionName).estimatedDocumentCount()
        let metrics: Metrics = ["documents": .count(count), "minimum": .count(minimum)]
        guard count < minimum else { return CheckOutput(metrics: metrics) }
        let finding = Finding(
            check: Self.description.identifier, collection: collectionName, kind: "too_few_documents", severity: severity,
            title: "\(count) document(s), fewer than the \(minimum) required",
            impact: "Consumers of \(collectionName) see missing data.", metrics: metrics)
        return CheckOutput(findings: [finding], metrics: metrics)
    }
}
