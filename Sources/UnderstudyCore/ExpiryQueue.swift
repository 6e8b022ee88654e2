/// A min-heap of (expiry time, key) for the active expire cycle.
///
/// Items are pushed when a key gains or changes its expiry and are never updated in
/// place: an item whose key no longer has that expiry is stale, and is skipped when
/// popped or dropped by `compact`. This finds expired keys in O(log n) each, instead of
/// sampling the way Redis does, and never scans keys without an expiry.
struct ExpiryQueue: Sendable {
    struct Item: Sendable {
        var expireAtMilliseconds: Int64
        var key: [UInt8]
    }

    private var heap: [Item] = []

    var count: Int { heap.count }
    var minimum: Item? { heap.first }

    mutating func push(expireAtMilliseconds: Int64, key: [UInt8]) {
        heap.append(Item(expireAtMilliseconds: expireAtMilliseconds, key: key))
        siftUp(from: heap.count - 1)
    }

    @discardableResult
    mutating func popMinimum() -> Item? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let item = heap.removeLast()
        if !heap.isEmpty { siftDown(from: 0) }
        return item
    }

    mutating func removeAll() { heap.removeAll() }

    /// Keeps only the items for which `isCurrent` holds, once per key, and re-heapifies.
    mutating func compact(isCurrent: ([UInt8], Int64) -> Bool) {
        var seen: Set<[UInt8]> = []
        heap = heap.filter { isCurrent($0.key, $0.expireAtMilliseconds) && seen.insert($0.key).inserted }
        var index = heap.count / 2
        while index > 0 {
            index -= 1
            siftDown(from: index)
        }
    }

    private mutating func siftUp(from start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].expireAtMilliseconds < heap[parent].expireAtMilliseconds else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(from start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count && heap[left].expireAtMilliseconds < heap[smallest].expireAtMilliseconds {
                smallest = left
            }
            if right < heap.count && heap[right].expireAtMilliseconds < heap[smallest].expireAtMilliseconds {
                smallest = right
            }
            guard smallest != parent else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
