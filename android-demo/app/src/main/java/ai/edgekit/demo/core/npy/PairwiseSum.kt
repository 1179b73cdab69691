package ai.edgekit.demo.core.npy

/**
 * numpy's `pairwise_sum` for float32 (numpy/_core/src/umath/loops_utils.h.src): how numpy adds
 * up a contiguous float32 run (`sum`, `mean`). Float addition is not associative, so a value on
 * a threshold falls on the same side as in Python only when the order of the additions is the
 * same: blocks of 8 partial sums up to 128 values, halves (multiples of 8) above.
 */
object PairwiseSum {
    /** The float32 sum of `a[start until start + n]` in numpy's order. */
    fun of(a: FloatArray, start: Int, n: Int): Float {
        if (n < 8) {
            var res = 0f
            for (i in 0 until n) res += a[start + i]
            return res
        }
        if (n <= 128) {
            val r = FloatArray(8) { a[start + it] }
            var i = 8
            while (i < n - n % 8) {
                for (j in 0 until 8) r[j] += a[start + i + j]
                i += 8
            }
            var res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
            while (i < n) res += a[start + i++]
            return res
        }
        var half = n / 2
        half -= half % 8
        return of(a, start, half) + of(a, start + half, n - half)
    }
}
