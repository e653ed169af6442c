/// The one escaping layer: every writer of text that came from a database, a spec, a history or a migration
/// file (all untrusted) passes it through the function of its output context, and nothing else escapes.
///
/// Characters that could act on a reader rather than be read are shown visibly as `\u{hex}` (lowercase hex,
/// no padding: ESC is `\u{1b}`, CSI is `\u{9b}`), the notation reports have always used. They are:
/// C0 controls (U+0000-U+001F), DEL and C1 controls (U+007F-U+009F), the line and paragraph separators
/// (U+2028, U+2029), the bidirectional formatting characters (U+061C, U+200E, U+200F, U+202A-U+202E,
/// U+2066-U+2069), the byte order mark (U+FEFF) and the noncharacters U+FFFE and U+FFFF. Everything else,
/// including a backslash, is written as it is, so ordinary text is unchanged byte for byte.
/// Inside a JavaScript string literal (a fix command shown on a terminal) the visible form is also an escape
/// of the same character, so the command still names what it named.
package enum Escape {
    /// Whether `scalar` is shown as `\u{hex}` in every human-read context (see the type's comment).
    package static func isShownVisibly(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069,
            0xFEFF, 0xFFFE, 0xFFFF:
            return true
        default:
            return false
        }
    }

    // MARK: Terminal

    /// Text for a terminal or a plain log line: the characters of `isShownVisibly` (newlines included, so one
    /// value is one line) appear as `\u{hex}` instead of acting on the terminal.
    package static func terminal(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isShownVisibly) else { return text }
        return mapped(text) { scalar, out in
            guard isShownVisibly(scalar) else { return false }
            appendVisible(scalar, to: &out)
            return true
        }
    }

    // MARK: YAML comments

    /// Text inside a `#` comment of a YAML file we write: one line, with the characters of `isShownVisibly`
    /// (every YAML line break and non-printable among them) and the interlinear annotation marks
    /// (U+FFF9-U+FFFB, which can hide text from a reader) shown as `\u{hex}`, so a comment can never end early
    /// or hide what follows.
    package static func yamlComment(_ text: String) -> String {
        mapped(terminal(text)) { scalar, out in
            guard (0xFFF9...0xFFFB).contains(scalar.value) else { return false }
            appendVisible(scalar, to: &out)
            return true
        }
    }

    // MARK: GitHub Actions workflow commands

    /// A workflow command's message (after `::`): `%`, CR and LF percent-encoded as the runner decodes them
    /// (so a value's line break stays inside the annotation and cannot start a command), other characters of
    /// `isShownVisibly` shown as `\u{hex}`.
    package static func workflowMessage(_ text: String) -> String {
        mapped(text) { scalar, out in
            switch scalar {
            case "%": out += "%25"
            case "\r": out += "%0D"
            case "\n": out += "%0A"
            case _ where isShownVisibly(scalar): appendVisible(scalar, to: &out)
            default: return false
            }
            return true
        }
    }

    /// A workflow command's property value (`file=…,title=…`): as a message, and `:` and `,` encoded too.
    package static func workflowProperty(_ text: String) -> String {
        mapped(workflowMessage(text)) { scalar, out in
            switch scalar {
            case ":": out += "%3A"
            case ",": out += "%2C"
            default: return false
            }
            return true
        }
    }

    // MARK: XML 1.0

    /// Character data of an XML 1.0 element: `& < > " '` as entities; tab and line feed kept; CR as `&#13;`
    /// (a parser would fold it); the characters XML 1.0 cannot hold at all (other C0 controls, U+FFFE,
    /// U+FFFF) and the rest of `isShownVisibly` shown as `\u{hex}`.
    package static func xmlText(_ text: String) -> String { xml(text, keeping: ["\t", "\n"]) }

    /// A quoted XML 1.0 attribute value: as `xmlText`, with tab and line feed as character references too,
    /// since a parser normalises them to spaces in attributes.
    package static func xmlAttribute(_ text: String) -> String { xml(text, keeping: []) }

    private static func xml(_ text: String, keeping raw: Set<Unicode.Scalar>) -> String {
        mapped(text) { scalar, out in
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case _ where raw.contains(scalar): return false
            case "\t": out += "&#9;"
            case "\n": out += "&#10;"
            case "\r": out += "&#13;"
            case _ where isShownVisibly(scalar): appendVisible(scalar, to: &out)
            default: return false
            }
            return true
        }
    }

    // MARK: HTML

    /// HTML text, safe both as element content and as a quoted attribute value: `& < > " '` escaped and
    /// the characters of `isShownVisibly` shown as `\u{hex}`.
    package static func html(_ text: String) -> String {
        mapped(text) { scalar, out in
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case _ where isShownVisibly(scalar): appendVisible(scalar, to: &out)
            default: return false
            }
            return true
        }
    }

    // MARK: Markdown

    /// Inline Markdown text or a table cell: shown as on a terminal, then Markdown's and HTML's punctuation
    /// backslash-escaped (`\ ` * _ [ ] < > | ~`, and `&` before `#` or a letter), so the text adds no
    /// structure, link, tag or character reference (`&#x202E;`) of its own.
    package static func markdownText(_ text: String) -> String {
        let escaped = mapped(terminal(text)) { scalar, out in
            guard "\\`*_[]<>|~".unicodeScalars.contains(scalar) else { return false }
            out += "\\"
            out.unicodeScalars.append(scalar)
            return true
        }
        // An `&` is escaped only where it could start a character reference, so "a & b" stays as it was.
        guard escaped.contains("&") else { return escaped }
        var out = ""
        var scalars = escaped.unicodeScalars.makeIterator()
        var previousWasAmpersand = false
        while let scalar = scalars.next() {
            if previousWasAmpersand, scalar == "#" || (scalar.isASCII && scalar.properties.isAlphabetic) { out.removeLast(); out += "\\&" }
            out.unicodeScalars.append(scalar)
            previousWasAmpersand = scalar == "&"
        }
        return out
    }

    /// Text inside a Markdown code span: shown as on a terminal, backquotes as `'` so they cannot end it.
    package static func markdownCode(_ text: String) -> String {
        mapped(terminal(text)) { scalar, out in
            guard scalar == "`" else { return false }
            out += "'"
            return true
        }
    }

    // MARK: JSON and mongosh

    /// `text` as a quoted JSON string: `"` and `\` escaped, `\n \r \t` by name, other C0 controls, DEL and
    /// U+2028/U+2029 (line ends to some JavaScript parsers) as `\u00hh`. The one JSON string writer.
    package static func jsonString(_ text: String) -> String {
        var out = ""
        appendJSONString(text, to: &out)
        return out
    }

    /// `jsonString`, appended to `out` (for writers that build a large document).
    package static func appendJSONString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029:
                out += "\\u"
                let hex = String(scalar.value, radix: 16)
                out += String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// A name from the database as a mongosh (JavaScript) string literal, always data and never code:
    /// `db.getSiblingDB(\(mongoshString(database))).getCollection(\(mongoshString(collection)))`. A JSON
    /// string is a JavaScript string literal, so the literal is exactly `jsonString`.
    package static func mongoshString(_ text: String) -> String { jsonString(text) }

    /// A field name as a key of a mongosh object literal: bare when it is a plain ASCII identifier
    /// (`end_time`), otherwise a string literal (`"channels.min"`, `"a\"b"`, `"$where"`), so it is data
    /// whatever it holds.
    package static func mongoshKey(_ name: String) -> String {
        func isLetter(_ scalar: Unicode.Scalar) -> Bool { ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || scalar == "_" }
        guard let first = name.unicodeScalars.first, isLetter(first),
            name.unicodeScalars.allSatisfy({ isLetter($0) || ("0"..."9").contains($0) })
        else { return mongoshString(name) }
        return name
    }

    // MARK: Shared

    /// `\u{hex}`, the visible form of a character of `isShownVisibly`.
    static func appendVisible(_ scalar: Unicode.Scalar, to out: inout String) {
        out += "\\u{"
        out += String(scalar.value, radix: 16)
        out += "}"
    }

    /// `text` with each scalar either replaced by `replace` (which appends its replacement and returns true)
    /// or copied.
    private static func mapped(_ text: String, _ replace: (Unicode.Scalar, inout String) -> Bool) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars where !replace(scalar, &out) { out.unicodeScalars.append(scalar) }
        return out
    }
}
