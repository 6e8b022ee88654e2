import Testing
import UnderstudyCore
@testable import UnderstudyStorage

@Suite struct DurableStateFileTests {
    @Test func write_thenRead_returnsTheSameHistory_andReplacesTheOldOne() throws {
        let directory = try TemporaryDirectory()
        #expect(try DurableStateFile.epochHistory.read(dataDirectory: directory.path) == nil)
        try DurableStateFile.epochHistory.write(encodeHistory([(1, 1)]), dataDirectory: directory.path)
        #expect(decodeHistory(try #require(try DurableStateFile.epochHistory.read(dataDirectory: directory.path))).map(\.epoch) == [1])
        let history: [(epoch: UInt64, firstLSN: UInt64)] = [(1, 1), (2, 501), (5, 9_000)]
        try DurableStateFile.epochHistory.write(encodeHistory(history), dataDirectory: directory.path)
        let read = decodeHistory(try #require(try DurableStateFile.epochHistory.read(dataDirectory: directory.path)))
        #expect(read.map(\.epoch) == [1, 2, 5] && read.map(\.firstLSN) == [1, 501, 9_000])
        #expect(!FileIO.fileExists(DurableStateFile.epochHistory.path(dataDirectory: directory.path) + ".tmp"))
        try DurableStateFile.epochHistory.write([], dataDirectory: directory.path)
        #expect(try DurableStateFile.epochHistory.read(dataDirectory: directory.path) == [])
    }

    @Test func everyFlippedByte_orTruncation_isRefused_namingTheFile() throws {
        let directory = try TemporaryDirectory()
        try DurableStateFile.epochHistory.write(encodeHistory([(1, 1), (2, 77)]), dataDirectory: directory.path)
        let path = DurableStateFile.epochHistory.path(dataDirectory: directory.path)
        let good = try fileBytes(path)
        for offset in 0..<good.count {
            var bad = good
            bad[offset] ^= 0x10
            try writeFile(path, bad)
            let error = storageError { _ = try DurableStateFile.epochHistory.read(dataDirectory: directory.path) }
            #expect(error?.code == .corruptEpochHistory, "flipped byte \(offset)")
            #expect(error?.path == path)
        }
        for length in [0, 5, 16, good.count - 1] {
            try writeFile(path, Array(good.prefix(length)))
            #expect(storageError { _ = try DurableStateFile.epochHistory.read(dataDirectory: directory.path) }?.code == .corruptEpochHistory)
        }
        try writeFile(path, good + [0])
        #expect(storageError { _ = try DurableStateFile.epochHistory.read(dataDirectory: directory.path) }?.code == .corruptEpochHistory)
        try writeFile(path, [UInt8](repeating: 0x41, count: 2 << 20))
        #expect(storageError { _ = try DurableStateFile.epochHistory.read(dataDirectory: directory.path) }?.code == .corruptEpochHistory)
    }
}
