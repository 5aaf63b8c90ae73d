import Foundation

// JSON helpers of the header reader: what JSONSerialization does not say by itself.

extension SafeTensors {
    /// A JSON integer (not a boolean, not a number with a fraction or exponent form that
    /// parsed as floating point, within Int's range).
    static func jsonInteger(_ value: Any) -> Int? {
        guard let number = value as? NSNumber else { return nil }
        let type = String(cString: number.objCType)
        switch type {
        case "c", "C", "B", "f", "d": return nil           // booleans and floating point
        case "Q", "L", "I", "S":
            let u = number.uint64Value
            return u <= UInt64(Int.max) ? Int(u) : nil
        default:
            return Int(exactly: number.int64Value)
        }
    }

    static func jsonReason(_ error: Error) -> String {
        let ns = error as NSError
        if let detail = ns.userInfo["NSDebugDescription"] as? String { return detail }
        return ns.localizedDescription
    }

    /// The first top-level key that occurs twice in a JSON object (JSONSerialization keeps the
    /// last silently). `json` must already be known to parse.
    static func firstDuplicateTopLevelKey(_ json: UnsafeRawBufferPointer) -> String? {
        var seen = Set<String>()
        var depth = 0
        var i = 0
        let n = json.count
        while i < n {
            let c = json[i]
            switch c {
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1; i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1; i += 1
            case UInt8(ascii: "\""):
                let start = i
                i += 1
                while i < n && json[i] != UInt8(ascii: "\"") {
                    i += json[i] == UInt8(ascii: "\\") ? 2 : 1
                }
                i += 1                                          // past the closing quote
                guard depth == 1 else { continue }
                var j = i
                while j < n, [0x20, 0x09, 0x0A, 0x0D].contains(json[j]) { j += 1 }
                guard j < n, json[j] == UInt8(ascii: ":") else { continue }
                let literal = Data(json[start ..< min(i, n)])
                let key = (try? JSONSerialization.jsonObject(with: literal, options: .fragmentsAllowed)) as? String
                    ?? String(decoding: literal, as: UTF8.self)
                if !seen.insert(key).inserted { return key }
            default: i += 1
            }
        }
        return nil
    }
}
