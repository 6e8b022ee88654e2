/// An array stored as fixed-size chunks, each its own copy-on-write array.
///
/// Why: a `Keyspace` is copied (O(1)) when a snapshot captures it, and the live table's
/// next write then copies what it touches. With one flat `[EntrySlot]` that first write
/// copied every slot on the event loop — for 1 M keys a million retains, ≈ 10 ms of
/// stalled clients per snapshot. Here it copies the outer array of chunk references and
/// the one chunk it writes to (`chunkSize` elements); the rest stay shared until written.
/// Reads cost one more indirection. 512 per chunk: a copy is ≈ 512 retains, so a loop
/// iteration whose writes land in many shared chunks (right after a capture) stays short.
struct ChunkedArray<Element>: RandomAccessCollection, MutableCollection {
    static var chunkShift: Int { 9 }
    static var chunkSize: Int { 1 << chunkShift }
    static var chunkMask: Int { chunkSize - 1 }

    private var chunks: [[Element]] = []
    private(set) var count = 0

    init() {}

    var startIndex: Int { 0 }
    var endIndex: Int { count }

    subscript(position: Int) -> Element {
        get {
            precondition(position >= 0 && position < count, "ChunkedArray index out of range")
            return chunks[position >> Self.chunkShift][position & Self.chunkMask]
        }
        _modify {
            precondition(position >= 0 && position < count, "ChunkedArray index out of range")
            yield &chunks[position >> Self.chunkShift][position & Self.chunkMask]
        }
        set {
            precondition(position >= 0 && position < count, "ChunkedArray index out of range")
            chunks[position >> Self.chunkShift][position & Self.chunkMask] = newValue
        }
    }

    mutating func append(_ element: Element) {
        if count & Self.chunkMask == 0 {
            var chunk: [Element] = []
            chunk.reserveCapacity(Self.chunkSize)
            chunks.append(chunk)
        }
        chunks[chunks.count - 1].append(element)
        count += 1
    }

    /// Reserves the outer array only: chunks are allocated whole as they are reached.
    mutating func reserveCapacity(_ elements: Int) {
        chunks.reserveCapacity((elements + Self.chunkMask) >> Self.chunkShift)
    }

    mutating func removeAll() {
        chunks = []
        count = 0
    }
}

extension ChunkedArray: Sendable where Element: Sendable {}
