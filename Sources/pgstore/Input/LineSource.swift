import Foundation
import PGStore

/// Lines of a stream as they arrive: standard input (a pipe from
/// `trace-cmd report`), a FIFO, tracefs's `trace_pipe`, or a file another
/// process appends to. Reading never blocks for long, so the recording can
/// commit what it has and notice Ctrl-C while the writer is quiet.
///
/// Without `follow` the stream ends at end of file. With `follow` (like
/// `tail -f`) it never ends by itself: at the end of a regular file it waits
/// for more; a FIFO is held open for writing too, so a writer that closes is
/// not an end; only the caller's stop (a signal) ends it.
final class LineSource {
    enum Next { case line(String), idle, end }

    let name: String
    let follow: Bool
    private let fd: Int32
    private let isRegularFile: Bool
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEOF = false
    private(set) var bytesRead: Int64 = 0
    private(set) var linesRead = 0
    /// Every byte read, for the run's source hash.
    private(set) var digest = WorkloadSource.Digest()

    /// `path` nil: standard input.
    init(path: String?, follow: Bool) throws {
        self.follow = follow
        name = path ?? "-"
        if let path {
            var info = stat()
            guard stat(path, &info) == 0 else {
                throw PgstoreError("\(path): cannot read the input (\(String(cString: strerror(errno))))")
            }
            let isFIFO = info.st_mode & S_IFMT == S_IFIFO
            isRegularFile = info.st_mode & S_IFMT == S_IFREG
            // A followed FIFO is opened read-write: it then never reads as ended when a writer goes.
            let flags = (isFIFO && follow ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_CLOEXEC
            fd = open(path, flags)
            guard fd >= 0 else { throw PgstoreError("\(path): cannot read the input (\(String(cString: strerror(errno))))") }
        } else {
            fd = STDIN_FILENO
            var info = stat()
            isRegularFile = fstat(fd, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
        }
    }

    deinit { if fd != STDIN_FILENO { close(fd) } }

    /// The next line (without its newline), `.idle` when nothing came within
    /// `timeout` milliseconds, `.end` at the end of a stream that is not followed.
    func next(timeout: Int32 = 100) -> Next {
        while true {
            if let line = takeLine() { return .line(line) }
            if atEOF {
                if start < buffer.count {
                    // The last line of an ended stream has no newline.
                    let rest = String(decoding: buffer[start...], as: UTF8.self)
                    buffer.removeAll()
                    start = 0
                    linesRead += 1
                    return .line(rest)
                }
                return .end
            }
            switch fill(timeout: timeout) {
            case .data: continue
            case .nothing: return .idle
            case .ended:
                if follow { return .idle }
                atEOF = true
            }
        }
    }

    private func takeLine() -> String? {
        guard let newline = buffer[start...].firstIndex(of: 0x0A) else {
            if start > 0 && start == buffer.count { buffer.removeAll(keepingCapacity: true); start = 0 }
            return nil
        }
        var end = newline
        if end > start && buffer[end - 1] == 0x0D { end -= 1 }
        let line = String(decoding: buffer[start..<end], as: UTF8.self)
        start = newline + 1
        if start > 1 << 16 {
            buffer.removeFirst(start)
            start = 0
        }
        linesRead += 1
        return line
    }

    private enum Fill { case data, nothing, ended }

    private func fill(timeout: Int32) -> Fill {
        if !isRegularFile {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, timeout)
            if ready == 0 || (ready < 0 && errno == EINTR) { return .nothing }
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n > 0 {
            buffer.append(contentsOf: chunk[0..<n])
            bytesRead += Int64(n)
            digest.update(chunk[0..<n])
            return .data
        }
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return .nothing }
        if n == 0 && follow {
            // The end of a growing file (or of a pipe whose writer left): wait a little, then look again.
            usleep(UInt32(timeout) * 1000)
            return .nothing
        }
        return .ended
    }
}
