import Foundation
import XCTest

@testable import TextEscaping

/// Every class of Unicode scalar through every output context: what each context must never let through,
/// what it must keep, and that ordinary text comes out unchanged.
final class EscapeTests: XCTestCase {
    /// All of U+0000...U+00A0 (C0, ASCII, DEL, C1, NBSP), the line and paragraph separators, the bidi
    /// override, the byte order mark, the two BMP noncharacters and an astral scalar.
    static let scalars: [Unicode.Scalar] =
        (0...0xA0).map { Unicode.Scalar($0)! } + [0x2028, 0x2029, 0x202E, 0x2066, 0x200F, 0xFEFF, 0xFFFE, 0xFFFF, 0x1F600].map { Unicode.Scalar($0)! }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool { scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) }

    static func text(_ scalar: Unicode.Scalar) -> String { "a" + String(Character(scalar)) + "b" }

    /// The visible form the layer documents.
    static func visible(_ scalar: Unicode.Scalar) -> String { "\\u{\(String(scalar.value, radix: 16))}" }

    func testOrdinaryTextIsUnchangedInTheHumanContexts() {
        let ordinary = "recordings.start_time 123 é ü 日本 🎵 back\\slash"
        XCTAssertEqual(Escape.terminal(ordinary), ordinary)
        XCTAssertEqual(Escape.workflowMessage(ordinary), ordinary)
        XCTAssertEqual(Escape.workflowProperty(ordinary), ordinary)
        XCTAssertEqual(Escape.xmlText(ordinary), ordinary)
        XCTAssertEqual(Escape.xmlAttribute(ordinary), ordinary)
        XCTAssertEqual(Escape.html(ordinary), ordinary)
        XCTAssertEqual(Escape.markdownCode(ordinary), ordinary)
    }

    func testTerminalShowsEveryControlBidiAndNoncharacterVisibly() {
        for scalar in Self.scalars {
            let escaped = Escape.terminal(Self.text(scalar))
            let dangerous = Self.isControl(scalar) || [0x2028, 0x2029, 0x202E, 0x2066, 0x200F, 0xFEFF, 0xFFFE, 0xFFFF].contains(scalar.value)
            if dangerous {
                XCTAssertEqual(escaped, "a" + Self.visible(scalar) + "b", "U+\(String(scalar.value, radix: 16))")
            } else {
                XCTAssertEqual(escaped, Self.text(scalar), "U+\(String(scalar.value, radix: 16)) is kept")
            }
            XCTAssertFalse(escaped.unicodeScalars.contains(where: Self.isControl))
        }
        XCTAssertEqual(Escape.terminal("\u{1B}[31mred\u{9B}2J"), "\\u{1b}[31mred\\u{9b}2J")
    }

    /// GitHub decodes `%25 %0D %0A` in a message (and `%3A %2C` in a property); after decoding, a value still
    /// has no line break of its own, so it can never start a command.
    func testWorkflowCommandsCarryNoLineBreakAndDecodeBack() {
        for scalar in Self.scalars {
            let message = Escape.workflowMessage(Self.text(scalar) + "%")
            XCTAssertFalse(message.unicodeScalars.contains(where: Self.isControl), "U+\(String(scalar.value, radix: 16))")
            let property = Escape.workflowProperty(Self.text(scalar) + ":,%")
            XCTAssertFalse(property.contains(":") || property.contains(","), property)
            XCTAssertFalse(property.unicodeScalars.contains(where: Self.isControl))
            let decoded = message.replacingOccurrences(of: "%0A", with: "\n").replacingOccurrences(of: "%0D", with: "\r")
                .replacingOccurrences(of: "%25", with: "%")
            if scalar == "\n" || scalar == "\r" || scalar == "%" {
                XCTAssertEqual(decoded, Self.text(scalar) + "%", "a line break is kept inside the annotation")
            } else {
                XCTAssertEqual(decoded, Escape.terminal(Self.text(scalar)) + "%")
            }
        }
        let forged = Escape.workflowMessage("db\n::error::x")
        XCTAssertEqual(forged, "db%0A::error::x")
    }

    /// XML 1.0's Char production: tab, LF, CR, U+0020-U+D7FF, U+E000-U+FFFD, U+10000-U+10FFFF.
    static func isXMLChar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: return true
        default: return false
        }
    }

    func testXMLHoldsOnlyCharactersXML10AllowsAndNoMarkup() {
        for scalar in Self.scalars {
            for (escaped, attribute) in [(Escape.xmlText(Self.text(scalar) + "<&>\"'"), false), (Escape.xmlAttribute(Self.text(scalar) + "<&>\"'"), true)] {
                XCTAssertTrue(escaped.unicodeScalars.allSatisfy(Self.isXMLChar), "U+\(String(scalar.value, radix: 16)): \(escaped)")
                XCTAssertFalse(escaped.contains("<") || escaped.contains(">") || escaped.contains("\"") || escaped.contains("'"))
                XCTAssertFalse(escaped.contains("\r"), "a parser would fold a raw CR")
                if attribute { XCTAssertFalse(escaped.contains("\n") || escaped.contains("\t"), "a parser would fold them to spaces") }
            }
        }
        XCTAssertEqual(Escape.xmlText("a\nb\tc\rd\u{FFFF}"), "a\nb\tc&#13;d\\u{ffff}")
        XCTAssertEqual(Escape.xmlAttribute("a\nb"), "a&#10;b")
    }

    /// Every scalar class inside a document that xmllint, a strict XML 1.0 parser, accepts.
    func testXMLOfEveryScalarParsesWithXmllint() throws {
        // scripts/test installs xmllint (libxml2-utils): its absence is a failure, not a skip.
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: "/usr/bin/xmllint"), "xmllint is not installed (apt-get install libxml2-utils)")
        let all = String(String.UnicodeScalarView(Self.scalars))
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<r a=\"\(Escape.xmlAttribute(all))\">\(Escape.xmlText(all))</r>\n"
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("escape-\(UUID()).xml")
        defer { try? FileManager.default.removeItem(at: file) }
        try xml.write(to: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/xmllint")
        process.arguments = ["--noout", file.path]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
    }

    func testHTMLHasNoMarkupAndNoControl() {
        for scalar in Self.scalars {
            let escaped = Escape.html(Self.text(scalar) + "<script>\"'&")
            XCTAssertFalse(escaped.contains("<") || escaped.contains(">") || escaped.contains("\"") || escaped.contains("'"), escaped)
            XCTAssertFalse(escaped.unicodeScalars.contains(where: Self.isControl))
        }
        XCTAssertEqual(Escape.html("<img src=x onerror='a'>&"), "&lt;img src=x onerror=&#39;a&#39;&gt;&amp;")
    }

    func testMarkdownEscapesItsPunctuationAndCodeSpansCannotEnd() {
        for scalar in Self.scalars {
            XCTAssertFalse(Escape.markdownText(Self.text(scalar)).unicodeScalars.contains(where: Self.isControl))
            XCTAssertFalse(Escape.markdownCode(Self.text(scalar) + "`").contains("`"))
        }
        XCTAssertEqual(Escape.markdownText("a|b*c_[x](y)<b>~\\`"), "a\\|b\\*c\\_\\[x\\](y)\\<b\\>\\~\\\\\\`")
        XCTAssertEqual(Escape.markdownText("recordings"), "recordings")
        // A character reference would render as the character it names (here a right-to-left override).
        XCTAssertEqual(Escape.markdownText("a&#x202E;b &amp; c & d&"), "a\\&#x202E;b \\&amp; c & d&")
    }

    /// A JSON string (and so a mongosh literal) of any text parses back to the same text, and holds no raw
    /// control or JavaScript line terminator.
    func testJSONAndMongoshLiteralsRoundTripEveryScalar() throws {
        for scalar in Self.scalars {
            let text = Self.text(scalar) + "\"\\"
            for literal in [Escape.jsonString(text), Escape.mongoshString(text)] {
                let parsed = try JSONSerialization.jsonObject(with: Data("[\(literal)]".utf8)) as? [String]
                XCTAssertEqual(parsed, [text], "U+\(String(scalar.value, radix: 16))")
                XCTAssertFalse(literal.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x2028 || $0.value == 0x2029 })
            }
        }
        XCTAssertEqual(Escape.jsonString("a\u{1}\n"), "\"a\\u0001\\n\"", "the notation JSON reports always had")
    }

    func testMongoshKeysAreBareOnlyForPlainIdentifiers() throws {
        XCTAssertEqual(Escape.mongoshKey("end_time"), "end_time")
        XCTAssertEqual(Escape.mongoshKey("startTime2"), "startTime2")
        for name in ["channels.min", "$where", "a\"b\\", "x: 1}, {$where", "", "1a", "é"] {
            let key = Escape.mongoshKey(name)
            let parsed = try JSONSerialization.jsonObject(with: Data("[\(key)]".utf8)) as? [String]
            XCTAssertEqual(parsed, [name], "\(name) is a string literal")
        }
    }
}
