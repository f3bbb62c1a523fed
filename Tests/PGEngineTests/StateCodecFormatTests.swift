import Testing
@testable import PGEngine
import PGSources

/// Checkpoint formats: what version 3 (whole states) and 4 (deltas) write,
/// and that histories holding versions 1 and 2 still read back exactly.
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

    @Test("whole states and deltas of versions 1 and 2 read back exactly, alone and in a chain with the new versions",
          arguments: [(Granule.size4K, Strategy.eager), (.size16K, .batchedSG)])
    func legacyFormatsRead(_ granule: Granule, _ strategy: Strategy) throws {
        let states = try Self.churnStates(granule: granule, strategy: strategy, operations: 300, every: 29)
        #expect(states.count > 5)
        var chained = try StateCodec.decode(Self.legacyFull(states[0]))
        #expect(chained == states[0])
        for i in 1..<states.count {
            #expect(try StateCodec.decode(Self.legacyFull(states[i])) == states[i], "whole state \(i)")
            // Alternate the versions along one chain, as a history recorded by both pgstores holds them.
            let delta = i % 2 == 0 ? Self.legacyDelta(states[i], since: states[i - 1]) : StateCodec.encodeDelta(states[i], since: states[i - 1])
            #expect(try StateCodec.kind(of: delta) == .delta(base: states[i - 1].seq))
            try StateCodec.applyDelta(delta, into: &chained)
            #expect(chained == states[i], "delta \(i)")
        }
    }

    @Test("version 3 writes a churned state's table records in under half the bytes of version 1, version 4 its deltas in under 0.65 of version 2")
    func newFormatsAreSmaller() throws {
        let states = try Self.churnStates(granule: .size4K, strategy: .eager)
        let last = try #require(states.last)
        #expect(last.tables.count > 200)
        #expect(try StateCodec.decode(StateCodec.encode(last)) == last)
        var compact = StateCodec.Writer(), legacy = StateCodec.Writer()
        for t in last.tables {
            StateCodec.writeCompactTable(t, in: last.tables, &compact)
            StateCodec.writeTable(t, &legacy)
        }
        #expect(Double(compact.bytes.count) < 0.5 * Double(legacy.bytes.count),
                "\(last.tables.count) records: version 3 \(compact.bytes.count) bytes, version 1 \(legacy.bytes.count)")
        var newDeltas = 0, oldDeltas = 0
        for i in 1..<states.count {
            let d = StateCodec.encodeDelta(states[i], since: states[i - 1])
            #expect(try StateCodec.applyDelta(d, to: states[i - 1]) == states[i], "delta \(i)")
            newDeltas += d.count
            oldDeltas += Self.legacyDelta(states[i], since: states[i - 1]).count
        }
        #expect(Double(newDeltas) < 0.65 * Double(oldDeltas), "version 4: \(newDeltas) bytes, version 2: \(oldDeltas)")
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
        #expect(try StateCodec.decode(StateCodec.encode(s)) == s)
        let base = e.captureState()
        #expect(try StateCodec.applyDelta(StateCodec.encodeDelta(s, since: base), to: base) == s)
        var truncated = StateCodec.encode(s)
        truncated.removeLast(truncated.count / 3)
        #expect(throws: StateCodec.DecodeError.self) { try StateCodec.decode(truncated) }
    }
}
