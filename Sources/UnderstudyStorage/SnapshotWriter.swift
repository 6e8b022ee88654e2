import Glibc
public import UnderstudyCore

/// Writes snapshots of the keyspace.
public enum SnapshotWriter {
    /// Writes `keyspace` (the state after every record up to `lsn`) as a snapshot, then
    /// removes all but the newest `SnapshotFormat.retainedSnapshots` snapshots.
    ///
    /// Blocking: call it on a background thread with a copy of the keyspace (a
    /// copy-on-write copy costs nothing until the loop mutates its own). The file is
    /// written under a temporary name, fsynced, renamed into place, and the directory is
    /// fsynced: once this returns, the snapshot survives a power failure, and a crash
    /// before that leaves at most a temporary file that recovery removes.
    ///
    /// `lsn` SHOULD be durable in the WAL already, so the WAL never ends before the
    /// newest snapshot. Only one snapshot may be written at a time per data directory.
    /// `lastRecordChecksum` is the CRC32C of the WAL frame of the record at `lsn` (nil:
    /// unknown), kept in the header.
    public static func write(keyspace: Keyspace, lsn: LSN, epoch: Epoch, lastRecordChecksum: UInt32?,
                             dataDirectory: String) throws -> SnapshotInfo {
        let directory = StorageLayout.snapshotDirectory(dataDirectory)
        if try FileIO.makeDirectory(directory) { try FileIO.syncDirectory(dataDirectory) }
        let path = directory + "/" + SnapshotFormat.fileName(lsn: lsn)
        var info = try FileIO.replaceDurably(path, directory: directory, temporarySuffix: SnapshotFormat.temporarySuffix) { descriptor, temporaryPath in
            try writeContent(keyspace: keyspace, lsn: lsn, epoch: epoch, lastRecordChecksum: lastRecordChecksum,
                             to: descriptor, path: temporaryPath)
        }
        info.path = path
        try removeOldSnapshots(dataDirectory: dataDirectory)
        return info
    }

    private static func writeContent(keyspace: Keyspace, lsn: LSN, epoch: Epoch, lastRecordChecksum: UInt32?,
                                     to descriptor: Int32, path: String) throws -> SnapshotInfo {
        var fileChecksum = CRC32C()
        var fileBytes: Int64 = 0
        func emit(_ bytes: [UInt8]) throws {
            fileChecksum.update(bytes)
            try FileIO.writeAll(descriptor, bytes, path: path)
            fileBytes += Int64(bytes.count)
        }

        let checksum = lsn == .zero ? nil : lastRecordChecksum
        try emit(SnapshotFormat.header(lsn: lsn, epoch: epoch, lastRecordChecksum: checksum))
        var encoder = SnapshotChunkEncoder()
        var chunkCount = 0
        try keyspace.entries.forEachEntry { key, value, expireAtMilliseconds in
            if let chunk = encoder.add(key: key, value: value, expireAtMilliseconds: expireAtMilliseconds) {
                try emit(chunk)
                chunkCount += 1
            }
        }
        for (key, remembered) in keyspace.idempotency.entriesInOrder {
            if let chunk = encoder.add(remembered: key, remembered) {
                try emit(chunk)
                chunkCount += 1
            }
        }
        if let chunk = encoder.finish() {
            try emit(chunk)
            chunkCount += 1
        }
        var trailer: [UInt8] = []
        trailer.appendUInt32(SnapshotFormat.endMarker)
        trailer.appendUInt64(UInt64(keyspace.count))
        trailer.appendUInt32(UInt32(chunkCount))
        fileChecksum.update(trailer)
        trailer.appendUInt32(fileChecksum.value)
        try FileIO.writeAll(descriptor, trailer, path: path)
        fileBytes += Int64(trailer.count)
        return SnapshotInfo(path: path, lsn: lsn, epoch: epoch, lastRecordChecksum: checksum, entryCount: keyspace.count, chunkCount: chunkCount, fileBytes: fileBytes)
    }

    /// Keeps the newest `retainedSnapshots` snapshots; removes older ones and leftovers.
    private static func removeOldSnapshots(dataDirectory: String) throws {
        let directory = StorageLayout.snapshotDirectory(dataDirectory)
        let snapshots = try SnapshotFormat.list(dataDirectory: dataDirectory)
        let old = snapshots.dropFirst(SnapshotFormat.retainedSnapshots)
        for snapshot in old {
            try FileIO.remove(snapshot.path)
        }
        if !old.isEmpty { try FileIO.syncDirectory(directory) }
    }
}
