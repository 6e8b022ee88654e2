import CLZ4

/// LZ4 block compression through the system liblz4: snapshot chunks and replication
/// batches. A block carries no length of its own; callers frame it with its raw length.
public enum LZ4Block {
    /// The largest compressed size of `rawBytes` bytes (LZ4's worst case).
    public static func bound(rawBytes: Int) -> Int {
        Int(LZ4_compressBound(Int32(rawBytes)))
    }

    /// Compresses `raw` (1 byte to 1 GiB) into a new array.
    public static func compress(_ raw: UnsafeRawBufferPointer) -> [UInt8] {
        precondition(raw.count >= 1 && raw.count <= 1 << 30, "LZ4 block of \(raw.count) bytes is outside 1...1 GiB")
        let capacity = bound(rawBytes: raw.count)
        var compressed = [UInt8](repeating: 0, count: capacity)
        let produced = compressed.withUnsafeMutableBytes { destination in
            LZ4_compress_default(
                raw.baseAddress!.assumingMemoryBound(to: CChar.self),
                destination.baseAddress!.assumingMemoryBound(to: CChar.self),
                Int32(raw.count),
                Int32(capacity)
            )
        }
        guard produced > 0 else { fatalError("Internal inconsistency: LZ4 failed with a bound-sized buffer") }
        compressed.removeSubrange(Int(produced)...)
        return compressed
    }

    /// The most one compressed byte can expand to: in LZ4's format every byte of input
    /// (a length-extension byte, at most 255) yields at most 255 bytes of output.
    public static let maxExpansion = 255

    /// Decompresses a block that MUST expand to exactly `rawBytes` bytes; never reads or
    /// writes out of bounds on hostile input. A `rawBytes` beyond what `compressed` can
    /// expand to is refused before the output is allocated, so a few hostile bytes cannot
    /// claim a gigabyte.
    public static func decompress(_ compressed: UnsafeRawBufferPointer, rawBytes: Int) throws -> [UInt8] {
        guard rawBytes >= 1, rawBytes <= 1 << 30, !compressed.isEmpty else {
            throw StorageError(.invalidState, "LZ4 block: raw length \(rawBytes) or empty input is invalid")
        }
        guard rawBytes <= compressed.count * maxExpansion else {
            throw StorageError(.invalidState, "LZ4 block: \(compressed.count) bytes cannot expand to \(rawBytes)")
        }
        var raw = [UInt8](repeating: 0, count: rawBytes)
        let produced = raw.withUnsafeMutableBytes { destination in
            LZ4_decompress_safe(
                compressed.baseAddress!.assumingMemoryBound(to: CChar.self),
                destination.baseAddress!.assumingMemoryBound(to: CChar.self),
                Int32(compressed.count),
                Int32(rawBytes)
            )
        }
        guard produced == rawBytes else {
            throw StorageError(.invalidState, "LZ4 block decompressed to \(produced) bytes, expected \(rawBytes)")
        }
        return raw
    }
}
