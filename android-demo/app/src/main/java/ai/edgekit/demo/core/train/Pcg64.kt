package ai.edgekit.demo.core.train

import java.math.BigInteger

/**
 * numpy's default bit generator, PCG64 (a 128-bit LCG with the XSL-RR output), drawing the
 * batch order and the pool rows of training. It is the generator the Python learner draws with,
 * and its [state] is saved in numpy's own form (`bit_generator.state`), so a state this app
 * saves continues the same stream of 64-bit draws in Python, and back. The bounded integers,
 * permutations and weighted choices built on those draws are this class's own (numpy derives
 * them differently): the same state gives the same raw draws, not the same batches.
 */
class Pcg64(state: State) {
    /** numpy's `{"state": {"state", "inc"}, "has_uint32", "uinteger"}`: 128-bit [state] and
     * odd [inc], and the buffered 32-bit half numpy keeps, carried as it is (unused here). */
    data class State(
        val state: BigInteger,
        val inc: BigInteger,
        val hasUint32: Int = 0,
        val uinteger: Long = 0,
    ) {
        init {
            require(state.signum() >= 0 && state.bitLength() <= 128) { "state is not 128-bit" }
            require(inc.signum() >= 0 && inc.bitLength() <= 128 && inc.testBit(0)) {
                "inc must be an odd 128-bit integer"
            }
            require(hasUint32 in 0..1 && uinteger in 0..0xFFFF_FFFFL) { "bad buffered uint32" }
        }
    }

    private var hi = high(state.state)
    private var lo = state.state.toLong()
    private val incHi = high(state.inc)
    private val incLo = state.inc.toLong()
    private val hasUint32 = state.hasUint32
    private val uinteger = state.uinteger

    /** Where the draws stand now, to be saved. */
    val state: State
        get() = State(unsigned(hi, lo), unsigned(incHi, incLo), hasUint32, uinteger)

    /** The next 64-bit draw (numpy's `random_raw`): step the LCG, then output XSL-RR. */
    fun nextRaw(): Long {
        // state = state * MULT + inc (mod 2^128), from 64-bit halves
        val newLo = lo * MULT_LO
        val carry = multiplyHighUnsigned(lo, MULT_LO)
        var newHi = carry + hi * MULT_LO + lo * MULT_HI
        val sumLo = newLo + incLo
        newHi += incHi + if (java.lang.Long.compareUnsigned(sumLo, newLo) < 0) 1 else 0
        hi = newHi
        lo = sumLo
        return java.lang.Long.rotateRight(hi xor lo, (hi ushr 58).toInt())
    }

    /** A uniform double in [0, 1) from the top 53 bits of a draw (numpy's `random()`). */
    fun nextDouble(): Double = (nextRaw() ushr 11) * TWO_TO_MINUS_53

    /** A uniform integer in `[0, n)`, n in 1..2^31-1 (Lemire's multiply and reject). */
    fun below(n: Int): Int {
        require(n > 0) { "no integer below $n" }
        val bound = n.toLong()
        val floor = (1L shl 32) % bound // draws below it would bias the result
        while (true) {
            val product = (nextRaw() ushr 32) * bound // 32 random bits times n < 2^63
            if ((product and MASK32) >= floor) return (product ushr 32).toInt()
        }
    }

    /** A random order of `0 until n` (Fisher-Yates). */
    fun permutation(n: Int): IntArray {
        val order = IntArray(n) { it }
        for (i in n - 1 downTo 1) {
            val j = below(i + 1)
            val t = order[i]
            order[i] = order[j]
            order[j] = t
        }
        return order
    }

    /** [count] indices drawn with replacement, index i with probability `p[i]` (>= 0, any
     * positive sum: numpy's `choice(p=...)` by its cumulative sum). */
    fun choice(p: DoubleArray, count: Int): IntArray {
        val cdf = DoubleArray(p.size)
        var total = 0.0
        for (i in p.indices) {
            require(p[i] >= 0 && p[i].isFinite()) { "probabilities must be finite and >= 0" }
            total += p[i]
            cdf[i] = total
        }
        require(total > 0) { "probabilities sum to 0" }
        val last = p.indexOfLast { it > 0 }
        return IntArray(count) {
            val u = nextDouble() * total
            var low = 0 // the first index whose cumulative sum is > u: never one of p = 0
            var high = p.size
            while (low < high) {
                val mid = (low + high) ushr 1
                if (cdf[mid] > u) high = mid else low = mid + 1
            }
            if (low == p.size) last else low // u rounded up to the sum: the last possible
        }
    }

    companion object {
        private const val MULT_HI = 0x2360ED051FC65DA4L // PCG's 128-bit default multiplier
        private const val MULT_LO = 0x4385DF649FCCF645L
        private const val MASK32 = 0xFFFF_FFFFL
        private const val TWO_TO_MINUS_53 = 1.0 / (1L shl 53)
        private val TWO_128: BigInteger = BigInteger.ONE.shiftLeft(128)

        /** A generator seeded as PCG's `srandom_r(initstate, initseq)` (the step numpy's
         * `pcg64_set_seed` runs after its SeedSequence): the same [seed] gives the same
         * draws; it is not numpy's `default_rng(seed)`, whose SeedSequence is not ported.
         * [seed] and [stream] are read as unsigned 64-bit integers. */
        fun seeded(seed: Long, stream: Long = 0): Pcg64 {
            val inc = unsigned(0, stream).shiftLeft(1).or(BigInteger.ONE) // 2 * stream + 1
            // srandom_r: state 0, one step (state = inc), add the seed, one more step
            val start = inc.add(unsigned(0, seed)).mod(TWO_128)
            return Pcg64(State(start, inc)).also { it.nextRaw() }
        }

        private fun high(x: BigInteger): Long = x.shiftRight(64).toLong()

        private fun unsigned(hi: Long, lo: Long): BigInteger =
            BigInteger(1, java.nio.ByteBuffer.allocate(16).putLong(hi).putLong(lo).array())

        /** The high 64 bits of the unsigned 128-bit product (Math.multiplyHigh is API 31). */
        private fun multiplyHighUnsigned(a: Long, b: Long): Long {
            val a0 = a and MASK32
            val a1 = a ushr 32
            val b0 = b and MASK32
            val b1 = b ushr 32
            val low = a0 * b0
            val mid1 = a1 * b0 + (low ushr 32)
            val mid2 = a0 * b1 + (mid1 and MASK32)
            return a1 * b1 + (mid1 ushr 32) + (mid2 ushr 32)
        }
    }
}
