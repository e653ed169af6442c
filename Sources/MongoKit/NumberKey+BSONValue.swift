import CMongoc
import ScanKernel

extension NumberKey {
    /// The number of a BSONValue (int32, int64, double, decimal128), exactly.
    package init?(_ value: BSONValue) {
        switch value {
        case .int32(let v): self = .integer(Int64(v))
        case .int64(let v): self = .integer(v)
        case .double(let v): self = NumberKey(double: v)
        case .decimal128(let text):
            var decimal = bson_decimal128_t()
            guard bson_decimal128_from_string(text, &decimal) else { return nil }
            self = NumberKey(decimalLow: decimal.low, high: decimal.high)
        default: return nil
        }
    }
}
