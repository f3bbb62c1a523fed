import Testing
@testable import PGEngine

/// The table-memory arrays allocated in huge-page-advised storage
/// (TableMemoryStorage.swift): the words they hold are exactly those of the
/// plain array operations they replace, across growth past the capacity,
/// and the zeros they hand back to the kernel read zero.
@Suite("table memory storage")
struct TableMemoryStorageTests {
    /// A deterministic word pattern with zeros among the values.
    static func pattern(_ n: Int) -> [UInt64] {
        (0..<n).map { i in i % 7 == 0 ? 0 : UInt64(i) &* 0x9E37_79B9_7F4A_7C15 }
    }

    @Test("a copy: the source's words, then zeros, with the capacity asked for")
    func copy() {
        let source = Self.pattern(1000)
        let grown = [UInt64](tableMemory: source, count: 1500, capacity: 4096)
        #expect(grown.count == 1500 && grown.capacity >= 4096)
        #expect(Array(grown[..<1000]) == source)
        #expect(grown[1000...].allSatisfy { $0 == 0 })
        let cut = [UInt64](tableMemory: source, count: 300, capacity: 0)
        #expect(cut == Array(source[..<300]))
        #expect([UInt64](zeroedTableMemory: 3 << 18) == [UInt64](repeating: 0, count: 3 << 18))
    }

    @Test("resize and reserve give what append and removeLast give, over a 4 MiB array")
    func resize() {
        var words = [UInt64](), plain = [UInt64]()
        // Growth in 512 KiB steps past 4 MiB (advised storage), a cut, growth again.
        for n in [1 << 16, 3 << 16, 1 << 19, 9 << 16, 5 << 16, 1 << 19 + 7] {
            words.resize(to: n)
            if plain.count < n { plain.append(contentsOf: repeatElement(0, count: n - plain.count)) } else { plain.removeLast(plain.count - n) }
            for i in stride(from: 0, to: n, by: 4099) { words[i] = UInt64(i) | 1; plain[i] = UInt64(i) | 1 }
            #expect(words == plain)
        }
        let before = words
        words.reserveTableMemory(words.count * 3)
        #expect(words.capacity >= before.count * 3 && words == before)
        let capacity = words.capacity
        words.reserveTableMemory(16)
        #expect(words.capacity == capacity, "a smaller reservation moves nothing")
    }

    @Test("zero words given back to the kernel read zero, in memory a freed array had filled, at every offset into a page")
    func zeroedInRecycledMemory() {
        for round in 0..<6 {
            // Fill and free arrays of the size about to be asked for, so the
            // allocator has dirty memory to hand out again.
            let count = (3 << 18) + round * 61
            for _ in 0..<3 {
                var garbage = [UInt64](repeating: .max, count: count + 512)
                garbage[round] = 1
                #expect(garbage.count > count)
            }
            let source = Self.pattern(round * 37)
            let zeroed = [UInt64](zeroedTableMemory: count)
            #expect(zeroed.count == count && zeroed.allSatisfy { $0 == 0 }, "round \(round)")
            let sparse = [UInt64](tableMemory: source, count: count, capacity: count + 1000, sparse: true)
            #expect(Array(sparse[..<source.count]) == source && sparse[source.count...].allSatisfy { $0 == 0 }, "round \(round), sparse")
        }
    }
}
