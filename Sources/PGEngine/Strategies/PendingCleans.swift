/// The leaf runs a batched `map_sg` has written and not yet cleaned, per table.
struct PendingCleans {
    /// Tables in the order they were first written, each with its runs.
    private(set) var order: [Int] = []
    private(set) var runs: [Int: [(index: Int, count: Int)]] = [:]

    mutating func add(table: Int, index: Int, count: Int) {
        if runs[table] == nil { order.append(table) }
        runs[table, default: []].append((index, count))
    }

    mutating func drop(table: Int) {
        runs[table] = nil
    }

    /// Runs to clean: per table in first-touch order, sorted, with runs that share
    /// or adjoin a cache line merged, so each dirty line is cleaned exactly once.
    func coalesced(lineEntries: Int) -> [(table: Int, index: Int, count: Int)] {
        var out: [(table: Int, index: Int, count: Int)] = []
        for table in order {
            guard let list = runs[table]?.sorted(by: { $0.index < $1.index }) else { continue }
            var start = list[0].index
            var end = list[0].index + list[0].count          // exclusive
            for run in list.dropFirst() {
                let lastLine = (end - 1) / lineEntries
                if run.index / lineEntries <= lastLine + 1 {
                    end = max(end, run.index + run.count)
                } else {
                    out.append((table, start, end - start))
                    start = run.index
                    end = run.index + run.count
                }
            }
            out.append((table, start, end - start))
        }
        return out
    }
}

extension IOPageTable {
    /// Starts collecting leaf cleans instead of issuing them (batched `map_sg`).
    func beginBatch() {
        pending = PendingCleans()
    }

    /// Cleans every collected run once and stops collecting.
    func flushBatch() {
        guard let batch = pending else { return }
        pending = nil
        let lineEntries = max(1, config.lineSize / 8)
        for run in batch.coalesced(lineEntries: lineEntries) {
            syncEntries(table: run.table, index: run.index, count: run.count)
        }
    }
}
