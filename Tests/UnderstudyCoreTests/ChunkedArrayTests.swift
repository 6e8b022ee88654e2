import Testing
@testable import UnderstudyCore

@Suite struct ChunkedArrayTests {
    private static let size = 3 * ChunkedArray<Int>.chunkSize + 5

    private static func filled() -> ChunkedArray<Int> {
        var array = ChunkedArray<Int>()
        for number in 0..<size { array.append(number) }
        return array
    }

    @Test func append_acrossChunkBoundaries_keepsOrderAndCount() {
        let array = Self.filled()
        #expect(array.count == Self.size)
        #expect(Array(array) == Array(0..<Self.size))
        #expect(array[ChunkedArray<Int>.chunkSize] == ChunkedArray<Int>.chunkSize)
    }

    @Test func copy_neverSeesWritesToAnyChunk_andTheLiveArraySeesThem() {
        var live = Self.filled()
        let copy = live
        for position in stride(from: 0, to: Self.size, by: 1_000) { live[position] = -position - 1 }
        live.append(-1)
        #expect(Array(copy) == Array(0..<Self.size))
        for position in stride(from: 0, to: Self.size, by: 1_000) { #expect(live[position] == -position - 1) }
        #expect(live.count == Self.size + 1 && live[Self.size] == -1)
    }

    @Test func inPlaceModify_throughTheSubscript_changesOnlyThatElement() {
        var array = Self.filled()
        array[5] += 100
        array[ChunkedArray<Int>.chunkSize + 1] += 100
        #expect(array[5] == 105 && array[ChunkedArray<Int>.chunkSize + 1] == ChunkedArray<Int>.chunkSize + 101)
        #expect(array[6] == 6)
        array.removeAll()
        #expect(array.isEmpty)
    }
}
