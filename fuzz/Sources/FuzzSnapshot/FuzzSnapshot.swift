import FuzzSupport
import Glibc
import UnderstudyCore
import UnderstudyStorage

/// Snapshot files (what recovery loads, and what a standby receives from its primary)
/// through `SnapshotReader.read(path:)`, from a file in /dev/shm. When the first byte is
/// odd, every checksum in the file is first made valid (header, chunks, trailer): a CRC
/// is no defence against a hostile primary, and without this the fuzzer would never get
/// past the header. Property: no crash, hang or allocation beyond the run's limit.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSnapshot(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = FuzzInput.bytes(start, count)
    guard let mode = input.first else { return 0 }
    var file = Array(input.dropFirst())
    if mode & 1 == 1 { fixChecksums(&file) }
    let path = "/dev/shm/understudy-fuzz-snapshot-\(getpid())"
    writeFile(path, file)
    defer { unlink(path) }
    do {
        _ = try SnapshotReader.read(path: path)
    } catch {
        return 0
    }
    return 0
}

/// Layout (SnapshotFormat, SnapshotChunk): a 40-byte header whose CRC32C of bytes 0..<36
/// is at 36; chunks of `raw u32 | compressed u32 | CRC u32 | compressed bytes`, the CRC
/// over both lengths and the bytes; an end marker `FFFFFFFF`; then 12 bytes of counts and
/// the CRC32C of every byte before it.
private func fixChecksums(_ file: inout [UInt8]) {
    let headerBytes = 40
    guard file.count >= headerBytes else { return }
    file.storeLittleEndian(file[0..<36].withUnsafeBytes { CRC32C.checksum($0) }, at: 36)
    var offset = headerBytes
    while let marker = file.loadLittleEndian(UInt32.self, at: offset), marker != UInt32.max,
          let compressed = file.loadLittleEndian(UInt32.self, at: offset + 4),
          offset + 12 + Int(compressed) <= file.count {
        var crc = CRC32C()
        file[offset..<(offset + 8)].withUnsafeBytes { crc.update($0) }
        file[(offset + 12)..<(offset + 12 + Int(compressed))].withUnsafeBytes { crc.update($0) }
        file.storeLittleEndian(crc.value, at: offset + 8)
        offset += 12 + Int(compressed)
    }
    if file.count >= offset + 20 {
        file.storeLittleEndian(file[0..<(file.count - 4)].withUnsafeBytes { CRC32C.checksum($0) }, at: file.count - 4)
    }
}

private func writeFile(_ path: String, _ bytes: [UInt8]) {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard descriptor >= 0 else { fatalError("cannot create \(path): errno \(errno)") }
    defer { close(descriptor) }
    let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    guard written == bytes.count else { fatalError("short write to \(path): \(written) of \(bytes.count) bytes") }
}
