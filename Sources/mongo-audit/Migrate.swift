import ArgumentParser

/// Placeholder: the migration commands (plan, apply, status, down, new, emit) come with MigrationKit.
struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Index migrations (not yet available).")
    func run() throws { throw ValidationError("migrations are not implemented yet") }
}
