import Foundation
import MongoKit
import SpecSupport

/// An option a check accepts in a spec, as `mongo-audit checks` and the README list it.
public struct CheckOption: Sendable {
    public let name: String
    /// The kind of value, as people read it (`name`, `path`, `int`, `share 0..1`, `list`, `mapping`).
    public let type: String
    public let summary: String
    public let required: Bool
}

/// An option declared once: its name, type and summary (for listings) and how its value is read (for the
/// parser), so what a check documents and what it accepts cannot drift apart.
public struct TypedOption<Value>: Sendable {
    public let declaration: CheckOption
    let read: @Sendable (SpecNode) throws -> Value

    public init(
        _ name: String, type: String, _ summary: String, required: Bool = false, read: @escaping @Sendable (SpecNode) throws -> Value
    ) {
        declaration = CheckOption(name: name, type: type, summary: summary, required: required)
        self.read = read
    }
}

/// A typed option whose declaration goes into a check's description.
public protocol DeclaresOption: Sendable {
    var declaration: CheckOption { get }
}

extension TypedOption: DeclaresOption {}

extension TypedOption where Value == String {
    /// The collection a check is about (required).
    public static func collection(_ summary: String = "the collection to check") -> Self {
        Self("collection", type: "name", summary, required: true) { try $0.string() }
    }

    /// A dotted field path such as `channels.min`.
    public static func path(_ name: String, _ summary: String, required: Bool = false) -> Self {
        Self(name, type: "path", summary, required: required) { node in
            let path = try node.string()
            try node.validateFieldPath(path)
            return path
        }
    }

    public static func text(_ name: String, _ summary: String, required: Bool = false) -> Self {
        Self(name, type: "text", summary, required: required) { try $0.string() }
    }
}

extension TypedOption where Value == Int {
    /// A whole number within `range`.
    public static func integer(_ name: String, _ summary: String, in range: ClosedRange<Int>, required: Bool = false) -> Self {
        Self(name, type: "int", summary, required: required) { node in
            let value = try node.int()
            guard range.contains(value) else { throw node.error("must be between \(range.lowerBound) and \(range.upperBound), got \(value)") }
            return value
        }
    }
}

extension TypedOption where Value == Double {
    /// A finite number within `range`.
    public static func number(_ name: String, _ summary: String, in range: ClosedRange<Double>, required: Bool = false) -> Self {
        Self(name, type: "number", summary, required: required) { node in
            let value = try node.double()
            guard value.isFinite, range.contains(value) else {
                throw node.error("must be a number between \(range.lowerBound) and \(range.upperBound), got \(value)")
            }
            return value
        }
    }

    /// A share between 0 and 1 (`min_complete: 0.99`).
    public static func share(_ name: String, _ summary: String, required: Bool = false) -> Self {
        Self(name, type: "share 0..1", summary, required: required) { try $0.share() }
    }
}

extension TypedOption where Value == Bool {
    public static func flag(_ name: String, _ summary: String) -> Self {
        Self(name, type: "bool", summary) { try $0.bool() }
    }
}

extension TypedOption where Value == [String] {
    /// A non-empty list of texts.
    public static func names(_ name: String, _ summary: String, required: Bool = false) -> Self {
        Self(name, type: "list", summary, required: required) { node in
            let names = try node.stringArray()
            guard !names.isEmpty else { throw node.error("the list must not be empty") }
            return names
        }
    }
}

extension SpecFields {
    /// The option's value, or nil when the spec does not set it.
    public func value<Value>(_ option: TypedOption<Value>) throws -> Value? {
        try self[option.declaration.name].map(option.read)
    }

    /// The option's value, or `fallback` when the spec does not set it.
    public func value<Value>(_ option: TypedOption<Value>, default fallback: Value) throws -> Value {
        try value(option) ?? fallback
    }

    /// The value of a required option.
    public func required<Value>(_ option: TypedOption<Value>) throws -> Value {
        try option.read(required(option.declaration.name))
    }
}

extension SpecNode {
    /// A non-empty list, each item read by `item`.
    public func nonEmptyList<Item>(_ item: (SpecNode) throws -> Item) throws -> [Item] {
        let items = try array()
        guard !items.isEmpty else { throw error("the list must not be empty") }
        return try items.map(item)
    }
}
