package ai.edgekit.demo.core.train

import ai.edgekit.demo.core.json.Fields
import ai.edgekit.demo.core.json.Json
import org.junit.Test
import java.math.BigInteger
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

/**
 * The draws of training against numpy's PCG64 (pcg64.json): from a state in numpy's form, the
 * same 64-bit draws and doubles numpy gives; PCG's seeding; and the bounded draws built on them.
 */
class Pcg64Test {
    private val doc get() = TrainData.doc("pcg64.json")

    @Test
    fun `numpy's states give numpy's raw draws and doubles`() {
        for (case in doc.objects("states")) {
            val rng = Pcg64(state(case.obj("state")))
            val raws = case.list("raws").map { (it as Json.Num).toBigInteger()!!.toLong() }
            assertEquals(raws, List(raws.size) { rng.nextRaw() }, case.where)
            val doubles = TrainData.doubles(case.list("doubles"))
            assertContentEquals(doubles, DoubleArray(doubles.size) { rng.nextDouble() })
        }
    }

    @Test
    fun `a state read back continues the same draws`() {
        val rng = Pcg64(state(doc.objects("states")[1].obj("state")))
        repeat(3) { rng.nextRaw() }
        val copy = Pcg64(rng.state)
        assertEquals(List(5) { rng.nextRaw() }, List(5) { copy.nextRaw() })
    }

    @Test
    fun `seeding is PCG's srandom_r`() {
        for (case in doc.objects("seeded")) {
            val seed = (case.raw("seed") as Json.Num).toBigInteger()!!.toLong()
            val stream = (case.raw("stream") as Json.Num).toBigInteger()!!.toLong()
            val rng = Pcg64.seeded(seed, stream)
            val raws = case.list("raws").map { (it as Json.Num).toBigInteger()!!.toLong() }
            assertEquals(raws, List(raws.size) { rng.nextRaw() }, case.where)
        }
    }

    @Test
    fun `bounded draws, permutations and weighted choices stay in their ranges`() {
        val rng = Pcg64.seeded(1)
        for (n in listOf(1, 2, 3, 7, 1000, Int.MAX_VALUE)) {
            repeat(200) { assertTrue(rng.below(n) in 0 until n) }
        }
        val counts = IntArray(3)
        repeat(30_000) { counts[rng.below(3)]++ }
        assertTrue(counts.all { it in 9_500..10_500 }, counts.toList().toString())
        repeat(20) {
            val order = rng.permutation(50)
            assertEquals((0 until 50).toList(), order.sorted())
        }
        val p = doubleArrayOf(0.0, 0.5, 0.0, 0.25, 0.25, 0.0)
        val drawn = rng.choice(p, 20_000)
        assertTrue(drawn.none { p[it] == 0.0 }, "an index of probability 0 was drawn")
        assertTrue(drawn.count { it == 1 } in 9_600..10_400)
        assertFailsWith<IllegalArgumentException> { rng.choice(doubleArrayOf(0.0, 0.0), 1) }
        assertFailsWith<IllegalArgumentException> { rng.below(0) }
    }

    @Test
    fun `a state that numpy could not continue is refused`() {
        val big = BigInteger.ONE.shiftLeft(128)
        assertFailsWith<IllegalArgumentException> { Pcg64.State(big, BigInteger.ONE) }
        assertFailsWith<IllegalArgumentException> { Pcg64.State(BigInteger.ONE, BigInteger.TWO) }
        assertFailsWith<IllegalArgumentException> { Pcg64.State(BigInteger.ONE.negate(), big) }
    }

    private fun state(f: Fields): Pcg64.State {
        val inner = f.obj("state")
        fun big(key: String) = (inner.raw(key) as Json.Num).toBigInteger()!!
        return Pcg64.State(big("state"), big("inc"), f.int("has_uint32"), f.long("uinteger"))
    }
}
