/// The text form `"1:1,3:120"`: `epoch:firstLSN` pairs joined by commas, as carried by
/// the `REPLICATE` handshake and shown in logs.
extension EpochHistory: CustomStringConvertible {
    /// The longest text form accepted: `maximumEntries` pairs of two 20-digit numbers with
    /// their separators. Checked before anything else is read.
    public static let maximumTextBytes = maximumEntries * (2 * DecimalText.maximumDigits + 2)

    public var description: String {
        entries.map { "\($0.epoch.rawValue):\($0.firstLSN.rawValue)" }.joined(separator: ",")
    }

    /// The text form as bytes, for a RESP argument.
    public var textBytes: [UInt8] { Array(description.utf8) }

    /// Parses the text form. Accepts only the canonical spelling (digits without sign or
    /// leading zeros, no spaces, no empty pairs) of a valid history.
    /// - Throws: `ReplicationError.malformedHistory` saying what is wrong and where.
    public init(text: some Collection<UInt8>) throws {
        guard text.count <= Self.maximumTextBytes else {
            throw ReplicationError(.malformedHistory, "epoch history text is \(text.count) bytes, over the limit of \(Self.maximumTextBytes)")
        }
        var entries: [Entry] = []
        for (index, pair) in text.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false).enumerated() {
            guard entries.count < Self.maximumEntries else {
                throw ReplicationError(.malformedHistory, "epoch history has more than \(Self.maximumEntries) entries")
            }
            let parts = pair.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
            guard parts.count == 2, let epoch = DecimalText.parse(parts[0]), let firstLSN = DecimalText.parse(parts[1]) else {
                throw ReplicationError(.malformedHistory, "epoch history entry \(index + 1) is not of the form epoch:firstLSN")
            }
            entries.append(Entry(epoch: Epoch(epoch), firstLSN: LSN(firstLSN)))
        }
        try self.init(entries: entries)
    }

    /// Parses the text form from a string.
    public init(text: String) throws {
        try self.init(text: Array(text.utf8))
    }
}
