import FoundationEssentials
import ISPCheckerPrimitives
import ISPCheckerResults

/// A JSON number, or a string that holds a plain decimal number (mtr writes `"psize": "64"`,
/// older mtr every field). Finite only: `"NaN"`, `"inf"`, `1e400` and hex floats are refused.
struct JSONNumber: Decodable, Sendable {
    var value: Double

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self), number.isFinite {
            value = number
            return
        }
        if let text = try? container.decode(String.self), let number = Self.parse(text) {
            value = number
            return
        }
        throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected a finite number")
    }

    /// Digits, one optional sign, point and exponent: what `Double(_:)` reads minus its nan, inf and hex forms.
    static func parse(_ text: String) -> Double? {
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty, trimmed.utf8.count <= 64,
              trimmed.utf8.allSatisfy({ (0x30...0x39).contains($0) || $0 == 0x2e || $0 == 0x2d || $0 == 0x2b || $0 == 0x65 || $0 == 0x45 }),
              let number = Double(trimmed), number.isFinite else { return nil }
        return number
    }
}

/// A JSON string, or a number written as one (Atlas's `fw` is a number, scamper's `version` a string).
struct JSONText: Decodable, Sendable {
    var value: String

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            value = text
        } else if let number = try? container.decode(Double.self), number.isFinite {
            value = number.rounded() == number && abs(number) < 1e15 ? String(Int(number)) : String(number)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected a string")
        }
    }
}

/// How many elements a bounded JSON array may hold, and what they are called in the error.
protocol ListBound {
    static var maximum: Int { get }
    static var what: String { get }
}

enum HopBound: ListBound {
    static var maximum: Int { ImportLimits.maximumHops }
    static var what: String { "hops" }
}

enum EntryBound: ListBound {
    static var maximum: Int { ImportLimits.maximumListEntries }
    static var what: String { "entries" }
}

/// A JSON array read element by element that stops at `Bound.maximum`: a file of a million hops
/// is refused at the 256th, not decoded whole.
struct BoundedList<Element: Decodable & Sendable, Bound: ListBound>: Decodable, Sendable {
    var elements: [Element] = []

    init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        while !container.isAtEnd {
            guard elements.count < Bound.maximum else {
                throw ListTooLong(path: JSONPath.describe(decoder.codingPath), maximum: Bound.maximum, what: Bound.what)
            }
            elements.append(try container.decode(Element.self))
        }
    }
}

/// Thrown from inside a decoder; `JSONPath.decode` turns it into an `ImportError`.
struct ListTooLong: Error {
    var path: String
    var maximum: Int
    var what: String
}

enum JSONPath {
    /// `report.hubs[3].Loss%`, from a decoding path.
    static func describe(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
        }
        return text.isEmpty ? "the top level" : text
    }

    /// Decodes `type` from `bytes`, every failure a typed `ImportError` of `format`.
    static func decode<T: Decodable>(_ type: T.Type, from bytes: some Sequence<UInt8>, format: ImportFormat, place: String = "") throws(ImportError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch let error as ImportError {
            throw error
        } catch let error as ListTooLong {
            throw .valueOutOfRange(format: format, field: place + error.path, value: "more than \(error.maximum) \(error.what)", allowed: "at most \(error.maximum)")
        } catch let error as DecodingError {
            throw .malformed(format: format, reason: place + describe(error))
        } catch {
            throw .malformed(format: format, reason: place + "\(error)")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            return "\(describe(context.codingPath + [key])) is missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            let underlying = context.underlyingError.map { ": \($0)" } ?? ""
            return "\(describe(context.codingPath)): \(context.debugDescription)\(underlying)"
        @unknown default:
            return "\(error)"
        }
    }
}
