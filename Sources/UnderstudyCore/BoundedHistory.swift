/// The newest `capacity` elements of a stream, oldest first: an in-memory history that
/// cannot grow without bound however long the process runs.
public struct BoundedHistory<Element: Sendable>: Sendable {
    public let capacity: Int
    private var storage: [Element] = []
    private var start = 0
    /// Elements ever appended (the older ones have been dropped).
    public private(set) var appendedCount = 0

    public init(capacity: Int) {
        precondition(capacity > 0, "a history must hold at least one element")
        self.capacity = capacity
    }

    public mutating func append(_ element: Element) {
        appendedCount += 1
        if storage.count < capacity {
            storage.append(element)
            return
        }
        storage[start] = element
        start = (start + 1) % capacity
    }

    /// Oldest first.
    public var elements: [Element] { Array(storage[start...] + storage[..<start]) }

    /// The newest `count`, oldest first.
    public func newest(_ count: Int) -> [Element] { Array(elements.suffix(max(0, count))) }
}
