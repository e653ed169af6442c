import Foundation
import SpecSupport
import TestSupport
import XCTest

@testable import AuditKit

/// Mutation fuzzing of the spec parser: the shipped spec, cut, spliced and sprinkled with YAML's own
/// punctuation, either parses or fails with a `SpecError` naming the file. Nothing traps, nothing else is
/// thrown. The test command runs a fixed number of cases; `scripts/fuzz` runs it for as long as asked
/// (`MONGO_AUDIT_FUZZ_SECONDS`).
final class SpecFuzzTests: XCTestCase {
    static let alphabet = Array(":{}[],&*!|>'\"#-?\n\t $.0123456789aeinx<<~%@`\\".utf8)

    func testMutatedSpecsParseOrFailWithASpecError() throws {
        let seeds = try ["Checks/mongo-audit.yml"].map { try String(contentsOf: repositoryRoot.appendingPathComponent($0), encoding: .utf8) }
        let seconds = Double(ProcessInfo.processInfo.environment["MONGO_AUDIT_FUZZ_SECONDS"] ?? "") ?? 0
        let deadline = Date().addingTimeInterval(seconds)
        for seed: UInt64 in [20_261_122, UInt64.random(in: 1...UInt64.max)] {
            var random = SeededRandom(seed: seed)
            var cases = 0
            repeat {
                var bytes = Array(seeds[Int(random.next() % UInt64(seeds.count))].utf8)
                for _ in 0...(random.next() % 4) { Self.mutate(&bytes, &random) }
                let text = String(decoding: bytes, as: UTF8.self)
                do {
                    _ = try AuditSpec(text: text, file: "fuzz.yml")
                } catch let error as SpecError {
                    XCTAssertEqual(error.file, "fuzz.yml")
                } catch {
                    XCTFail("seed \(seed), case \(cases): \(type(of: error)) \(error) for:\n\(text)")
                    return
                }
                cases += 1
            } while cases < 1_500 || Date() < deadline
        }
    }

    static func mutate(_ bytes: inout [UInt8], _ random: inout SeededRandom) {
        guard !bytes.isEmpty else { bytes = [alphabet[Int(random.next() % UInt64(alphabet.count))]]; return }
        let at = Int(random.next() % UInt64(bytes.count))
        let length = Int(random.next() % 40)
        switch random.next() % 5 {
        case 0: bytes[at] = alphabet[Int(random.next() % UInt64(alphabet.count))]
        case 1: bytes.removeSubrange(at..<min(bytes.count, at + length))
        case 2: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + length)], at: Int(random.next() % UInt64(bytes.count)))
        case 3: bytes.insert(contentsOf: (0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }, at: at)
        default: bytes.removeSubrange(at...)
        }
    }
}
