import Testing
@testable import PGEngine
import PGSources

/// Checkpoint formats: what version 5 (whole states) and 6 (deltas) write,
/// and that histories holding versions 1 and 3 (whole) and 2 and 4 (deltas)
/// still read back exactly.
@Suite("Checkpoint formats")
struct StateCodecFormatTests {
    /// Version 1, as pgstore wrote whole states before version 3.
    static func legacyFull(_ s: EngineState) -> [UInt8] {
        var w = StateCodec.Writer()
        w.u32(StateCodec.magic)
        w.byte(StateCodec.legacyVersion)
        w.varint(s.seq)
        w.varint(UInt64(s.tables.count))
        for t in s.tables { StateCodec.writeTable(t, &w) }
        StateCodec.writeAllocator(s, &w)
        w.varint(UInt64(s.cpu.count))
        w.sparse(s.cpu, skip: { $0 == 0 })
        w.byte(s.memory.isEmpty ? 0 : 1)
        if !s.memory.isEmpty {
            w.sparse(s.memory, skip: { i, v in v == s.cpu[i] })
            w.varint(UInt64(s.dirty.count))
            w.sparse(s.dirty, skip: { $0 == 0 })
        }
        StateCodec.writeTail(s, &w)
        return w.bytes
    }

    /// Version 2, as pgstore wrote deltas before version 4.
    static func legacyDelta(_ s: EngineState, since base: EngineState) -> [UInt8] {
        var w = StateCodec.Writer()
        w.u32(StateCodec.magic)
        w.byte(StateCodec.legacyDeltaVersion)
        w.varint(s.seq)
        w.varint(base.seq)
        let common = min(base.tables.count, s.tables.count)
        let changed = (0..<common).filter { s.tables[$0] != base.tables[$0] }
        w.varint(UInt64(s.tables.count))
        w.varint(UInt64(changed.count))
        for id in changed { w.varint(UInt64(id)); StateCodec.writeTable(s.tables[id], &w) }
        for t in s.tables[common...] { StateCodec.writeTable(t, &w) }
        StateCodec.writeAllocator(s, &w)
        func differences(_ words: [UInt64], _ old: [UInt64]) {
            w.varint(UInt64(words.count))
            w.sparse(words, skip: { i, v in i < old.count ? v == old[i] : v == 0 })
        }
        differences(s.cpu, base.cpu)
        w.byte(s.memory.isEmpty ? 0 : 1)
        if !s.memory.isEmpty {
            differences(s.memory, base.memory)
            differences(s.dirty, base.dirty)
        }
        StateCodec.writeTail(s, &w)
        return w.bytes
    }

    /// Version 3, as pgstore wrote whole states before version 5.
    static func chainedFull(_ s: EngineState) -> [UInt8] {
        StateCodec.encode(s, extent: StateExtent(of: s), format: StateCodec.chainedVersion)
    }

    /// Version 4, as pgstore wrote deltas before version 6.
    static func chainedDelta(_ s: EngineState, since base: EngineState) -> [UInt8] {
        let words = max(s.cpu.count, base.cpu.count)
        return StateCodec.encodeDelta(s, extent: StateExtent(of: s), since: base, ranges: [0..<words],
                                      written: StateCodec.changedWords(s.cpu, since: base.cpu, in: [0..<words]), format: StateCodec.chainedDeltaVersion)
    }

    /// States of a churn run (tables allocated and freed, some words left dirty) every `every` calls.
    static func churnStates(granule: Granule, strategy: Strategy, operations: Int = 1_500, every: Int = 97) throws -> [EngineState] {
        let e = try IOPageTable(config: PageTableConfig(granule: granule), strategy: strategy, sink: NullSink())
        var states = [e.captureState()]
        for (i, c) in ChurnWorkload(operations: operations, seed: 12, geometry: e.geometry).enumerated() {
            e.perform(c)
            if i % every == every - 1 { states.append(e.captureState()) }
        }
        return states
    }

    @Test("whole states and deltas of versions 1 to 4 read back exactly, alone and in a chain with the new versions",
          arguments: [(Granule.size4K, Strategy.eager), (.size16K, .batchedSG)])
    func legacyFormatsRead(_ granule: Granule, _ strategy: Strategy) throws {
        let states = try Self.churnStates(granule: granule, strategy: strategy, operations: 300, every: 29)
        #expect(states.count > 5)
        var chained = try StateCodec.decode(Self.legacyFull(states[0]))
        #expect(chained == states[0])
        for i in 1..<states.count {
            #expect(try StateCodec.decode(Self.legacyFull(states[i])) == states[i], "whole state \(i)")
            #expect(try StateCodec.decode(Self.chainedFull(states[i])) == states[i].forgettingFreedTables, "whole state \(i), version 3")
            // Alternate the versions along one chain, as a history recorded by several pgstores holds them.
            let delta = [Self.legacyDelta(states[i], since: states[i - 1]), Self.chainedDelta(states[i], since: states[i - 1]),
                         StateCodec.encodeDelta(states[i], since: states[i - 1])][i % 3]
            #expect(try StateCodec.kind(of: delta) == .delta(base: states[i - 1].seq))
            try StateCodec.applyDelta(delta, into: &chained)
            #expect(chained == states[i], "delta \(i)")
        }
    }

    @Test("a damaged checkpoint of any version is an error or a state, never a trap: a value past Int at every position, and seeded byte flips")
    func damagedCheckpointsThrow() throws {
        let states = try Self.churnStates(granule: .size4K, strategy: .deferred, operations: 12, every: 6)
        let (a, b) = (states[1], states[2])
        let blobs: [(whole: Bool, bytes: [UInt8])] = [(true, StateCodec.encode(b)), (true, Self.legacyFull(b)), (true, Self.chainedFull(b)),
                                                      (false, StateCodec.encodeDelta(b, since: a)), (false, Self.legacyDelta(b, since: a)),
                                                      (false, Self.chainedDelta(b, since: a))]
        // Decoded whole, with nothing selected, and with some words selected.
        let some = WordSelection([0..<3, 17..<40, 200..<260])
        // 2^63 as a varint: the smallest value Int cannot hold.
        let huge: [UInt8] = Array(repeating: 0x80, count: 9) + [0x01]
        var rng = SplitMix64(seed: 41)
        var thrown = 0
        for blob in blobs {
            var damaged: [[UInt8]] = []
            for at in 5..<blob.bytes.count { damaged.append(Array(blob.bytes[..<at]) + huge + Array(blob.bytes[(at + 1)...])) }
            for _ in 0..<300 {
                var d = blob.bytes
                for _ in 0..<3 { d[5 + Int(rng.next() % UInt64(d.count - 5))] = UInt8(truncatingIfNeeded: rng.next()) }
                damaged.append(d)
            }
            for (k, d) in damaged.enumerated() {
                do {
                    switch k % 3 {
                    case 0:
                        if blob.whole { _ = try StateCodec.decode(d) } else { _ = try StateCodec.applyDelta(d, to: a) }
                    default:
                        let selection = k % 3 == 1 ? WordSelection.none : some
                        var s = a
                        s.resizeTableMemory(words: 1 << 16)
                        if blob.whole {
                            try StateCodec.decode(d, selecting: selection, into: &s)
                        } else {
                            try StateCodec.applyDelta(d, into: &s, selecting: selection)
                        }
                    }
                } catch {
                    thrown += 1
                }
            }
        }
        #expect(thrown > 800)
    }

    @Test("version 5 writes a churned state's table records in under half the bytes of version 1, version 6 its deltas in under 0.65 of version 2")
    func newFormatsAreSmaller() throws {
        let states = try Self.churnStates(granule: .size4K, strategy: .eager)
        let last = try #require(states.last)
        #expect(last.tables.count > 200)
        #expect(try StateCodec.decode(StateCodec.encode(last)) == last.forgettingFreedTables)
        var compact = StateCodec.Writer(), legacy = StateCodec.Writer()
        StateCodec.writeTableRecords(last.tables, &compact)
        for t in last.tables { StateCodec.writeTable(t, &legacy) }
        #expect(Double(compact.bytes.count) < 0.5 * Double(legacy.bytes.count),
                "\(last.tables.count) records: version 5 \(compact.bytes.count) bytes, version 1 \(legacy.bytes.count)")
        var newDeltas = 0, oldDeltas = 0
        for i in 1..<states.count {
            let d = StateCodec.encodeDelta(states[i], since: states[i - 1])
            #expect(try StateCodec.applyDelta(d, to: states[i - 1]) == states[i], "delta \(i)")
            newDeltas += d.count
            oldDeltas += Self.legacyDelta(states[i], since: states[i - 1]).count
        }
        #expect(Double(newDeltas) < 0.65 * Double(oldDeltas), "version 6: \(newDeltas) bytes, version 2: \(oldDeltas)")
    }

    @Test("a whole state keeps freed tables as tombstones, and deltas written against the full records read back on it",
          arguments: [Strategy.eager, .deferred])
    func freedTablesForgotten(_ strategy: Strategy) throws {
        let states = try Self.churnStates(granule: .size4K, strategy: strategy, operations: 6_000, every: 151)
        var forgotten = 0
        for k in stride(from: 2, to: states.count - 8, by: 9) {
            let whole = StateCodec.encode(states[k])
            var chained = try StateCodec.decode(whole)
            #expect(chained == states[k].forgettingFreedTables, "whole state \(k)")
            let freed = states[k].tables.filter(\.freed).count
            forgotten += freed
            #expect(chained.tables.count == states[k].tables.count && chained.tables.filter(\.freed).count == freed)
            // Later deltas were encoded against full records; they read back on tombstones.
            for i in (k + 1)...(k + 8) {
                try StateCodec.applyDelta(StateCodec.encodeDelta(states[i], since: states[i - 1]), into: &chained)
                #expect(chained.forgettingFreedTables == states[i].forgettingFreedTables, "delta \(i) on the whole state \(k)")
                #expect(chained.tables.filter { !$0.freed } == states[i].tables.filter { !$0.freed }, "live records at \(i)")
            }
            // An engine loaded from it has the same live tree and memory.
            let a = try IOPageTable(config: .default, strategy: strategy, state: chained, sink: NullSink())
            let b = try IOPageTable(config: .default, strategy: strategy, state: states[k + 8], sink: NullSink())
            #expect(a.liveTablesInOrder() == b.liveTablesInOrder())
            #expect(a.liveTablesInOrder().map { a.path(of: $0) } == b.liveTablesInOrder().map { b.path(of: $0) })
        }
        #expect(forgotten > 250, "too few freed tables to test: \(forgotten)")
        // A whole state of a churned run is mostly its live tables now.
        let last = try #require(states.last)
        var records = StateCodec.Writer()
        StateCodec.writeTableRecords(last.tables, &records)
        let live = last.tables.filter { !$0.freed }.count
        #expect(records.bytes.count < 12 * live + 4 * (last.tables.count - live) / 10 + 64,
                "\(records.bytes.count) bytes for \(live) live of \(last.tables.count) tables")
    }

    @Test("table records the prediction does not fit (no parent, a later parent, pages not aligned, new sizes) read back exactly")
    func unpredictedRecords() throws {
        let e = try IOPageTable(config: .default, strategy: .eager, sink: NullSink())
        var s = e.captureState()
        let records: [(pa: UInt64, bytes: UInt64, alloc: UInt64, level: Int, parent: Int?, index: Int, iova: UInt64, freed: Bool)] = [
            (0x8000_0040, 64, 4096, 1, nil, 0, 0, false),                  // a small PGD off a page boundary
            (0x8000_3000, 4096, 4096, 2, 4, 511, 0x7f_c000_0000, true),    // its parent comes later
            (0x7fff_f000, 4096, 4096, 3, 1, 3, 0x7f_c060_0000, false),     // below the previous pa
            (0x8000_5123, 8192, 16384, 3, 2, 7, 0x0000_0000_0123_4567, true),
            (0x9000_0000, 4096, 4096, 0, 0, 0, UInt64.max - 4095, false),
        ]
        let first = s.tables.count
        for (k, r) in records.enumerated() {
            var t = TableInfo(id: first + k, pa: r.pa, bytes: r.bytes, allocBytes: r.alloc, level: r.level,
                              parent: r.parent.map { first + $0 }, parentIndex: r.index, iovaBase: r.iova)
            t.freed = r.freed
            s.tables.append(t)
        }
        #expect(try StateCodec.decode(StateCodec.encode(s)) == s.forgettingFreedTables)
        let base = e.captureState()
        #expect(try StateCodec.applyDelta(StateCodec.encodeDelta(s, since: base), to: base) == s)
        var truncated = StateCodec.encode(s)
        truncated.removeLast(truncated.count / 3)
        #expect(throws: StateCodec.DecodeError.self) { try StateCodec.decode(truncated) }
    }

    @Test("a map_sg's descriptors take the bits of their change: 2.4 bytes a page scattered over 80,000 frames, under 0.4 the next page of a run, against 6 as plain words")
    func descriptorsArePredicted() throws {
        let e = try IOPageTable(config: .default, strategy: .eager, sink: NullSink())
        e.perform(ScatterGatherWorkload(pages: 20_000, placement: .random, seed: 3).call)
        let s = e.captureState()
        #expect(try StateCodec.decode(StateCodec.encode(s)) == s)
        var predicted = StateCodec.Writer(), plain = StateCodec.Writer()
        predicted.descriptors(s.cpu, skip: { _, v in v == 0 })
        plain.sparse(s.cpu, skip: { _, v in v == 0 })
        let words = s.cpu.filter { $0 != 0 }.count
        #expect(words > 20_000)
        // 80,000 frames: a change of 17 bits and a sign, zigzagged into 18.
        let perWord = Double(predicted.bytes.count) / Double(words), plainPerWord = Double(plain.bytes.count) / Double(words)
        #expect(perWord < 2.4 && plainPerWord > 5.9, "predicted \(perWord) bytes a descriptor, plain \(plainPerWord)")
        // Contiguous pages off a 2 MiB boundary (so no blocks): each next page is a change of 1, 2 bits.
        let c = try IOPageTable(config: .default, strategy: .eager, sink: NullSink())
        c.perform(ScatterGatherWorkload(pages: 20_000, placement: .contiguous, physicalBase: 0x8000_1000).call)
        let cs = c.captureState()
        let pages = cs.cpu.filter { $0 != 0 }.count
        #expect(pages > 20_000)
        var run = StateCodec.Writer()
        run.descriptors(cs.cpu, skip: { _, v in v == 0 })
        // A quarter of a byte each, and each run of 64 its first word whole.
        #expect(Double(run.bytes.count) / Double(pages) < 0.4, "\(run.bytes.count) bytes for \(pages) descriptors")
        var chained = StateCodec.Writer()
        chained.descriptors(cs.cpu, independentRuns: false, skip: { _, v in v == 0 })
        #expect(Double(chained.bytes.count) / Double(pages) < 0.35, "\(chained.bytes.count) bytes chained for \(pages) descriptors")
        #expect(try StateCodec.decode(StateCodec.encode(cs)) == cs)
    }

    @Test("words the prediction does not fit (attributes that change, the top bit, jumps down and up, zero between) read back exactly",
          arguments: [false, true])
    func unpredictedDescriptors(_ withZeros: Bool) throws {
        var rng = SplitMix64(seed: 9)
        var words: [UInt64] = [0x0000_0000_8000_1e43, 0x0000_0000_8000_2e43, 0x0000_0000_7fff_fe43, 0xffff_ffff_ffff_f000,
                               0x0000_0000_0000_0000, 0xffff_ffff_ffff_ffff, 0x0000_0000_0000_1000, 0x8000_0000_0000_0e43,
                               0x0000_0000_0000_0e43, 0x0060_0000_8020_0f4b, 0x0060_0000_8020_0f4b, 0x0000_0000_0000_0003]
        for _ in 0..<2_000 {
            let v = rng.next()
            words.append(v % 3 == 0 ? v : v & 0x000f_ffff_ffff_f000 | words[words.count - 1] & 0xfff)
        }
        // Runs of no change (0 bits), of the widest change, and longer than a run may be.
        words += Array(repeating: 0x0000_0000_8000_0e43, count: 200)
        for k in 0..<150 { words.append(k % 2 == 0 ? 0x000f_ffff_ffff_fe43 : 0x0000_0000_0000_0e43) }
        if withZeros { words = words.flatMap { [$0, 0, 0] } }
        var w = StateCodec.Writer()
        w.descriptors(words, skip: { _, v in withZeros && v == 0 })
        var out = [UInt64](repeating: 0, count: words.count)
        try w.bytes.withUnsafeBytes { bytes in
            var r = StateCodec.Reader(bytes: bytes)
            try r.applyDescriptors(to: &out)
            #expect(out == words)
            #expect(r.at == w.bytes.count)
            // A list cut short, or naming a word past the end, is an error, not a trap.
            var short = StateCodec.Reader(bytes: UnsafeRawBufferPointer(rebasing: bytes.prefix(bytes.count / 2)))
            #expect(throws: StateCodec.DecodeError.self) { try short.applyDescriptors(to: &out) }
            var small = [UInt64](repeating: 0, count: words.count / 2)
            var over = StateCodec.Reader(bytes: bytes)
            #expect(throws: StateCodec.DecodeError.self) { try over.applyDescriptors(to: &small) }
        }
    }

    @Test("a delta's memory is what differs from the CPU words written since its base, cleaned: almost nothing under eager; stale words read back exactly")
    func memoryPredictedFromWrites() throws {
        let states = try Self.churnStates(granule: .size4K, strategy: .eager, operations: 1_500, every: 23)
        var listed = 0, writtenWords = 0, perturbedWords = 0
        var rng = SplitMix64(seed: 21)
        for i in 1..<states.count {
            var s = states[i]
            let base = states[i - 1]
            let written = s.cpu.indices.filter { k in k < base.cpu.count ? s.cpu[k] != base.cpu[k] : s.cpu[k] != 0 }
            var w = StateCodec.Writer()
            w.memoryDifferences(s.memory, base: base.memory, cpu: s.cpu, written: written)
            listed += try w.bytes.withUnsafeBytes { bytes in
                var r = StateCodec.Reader(bytes: bytes)
                return try r.count()
            }
            writtenWords += written.count
            #expect(try StateCodec.applyDelta(StateCodec.encodeDelta(s, since: base), to: base) == s, "delta \(i)")
            // Stale words the prediction cannot know: some written words left
            // as they were, some set to other values, some unwritten words changed.
            for _ in 0..<20 where !written.isEmpty {
                let k = written[Int(rng.next() % UInt64(written.count))]
                s.memory[k] = rng.next() % 2 == 0 ? (k < base.memory.count ? base.memory[k] : 0) : rng.next()
                let other = Int(rng.next() % UInt64(s.memory.count))
                s.memory[other] = rng.next() % 3 == 0 ? s.cpu[other] : rng.next()
                perturbedWords += 2
            }
            #expect(try StateCodec.applyDelta(StateCodec.encodeDelta(s, since: base), to: base) == s, "perturbed delta \(i)")
        }
        // Only table descriptors whose line was cleaned again carry SW_SYNC to memory.
        #expect(writtenWords > 10_000 && listed * 40 < writtenWords, "\(listed) of \(writtenWords) written words listed")
        #expect(perturbedWords > 500)
    }
}
