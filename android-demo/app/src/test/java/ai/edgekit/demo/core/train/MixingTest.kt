package ai.edgekit.demo.core.train

import ai.edgekit.demo.core.json.Json
import org.junit.Test
import kotlin.math.abs
import kotlin.math.ceil
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

/**
 * Global dataset mixing against the Python SDK: `split_batch` and `filling_weights` give
 * Python's results on its own cases (split_batch.json, filling_weights.json); an epoch of mixed
 * batches over the real bundle's D0 has the structure `mixed_batches` promises.
 */
class MixingTest {
    private val manifest get() = TrainData.bundle.manifest

    @Test
    fun `split_batch gives Python's split and refuses what Python refuses`() {
        val cases = TrainData.cases("split_batch.json")
        assertTrue(cases.size > 500)
        for (c in cases) {
            val batch = c.int("batch")
            val mix = c.double("mix")
            val have = c.bool("have")
            if (c.isNull("split")) {
                assertFailsWith<TrainingInputError>(c.where) { Mixing.splitBatch(batch, mix, have) }
            } else {
                val expected = c.longs("split").map { it.toInt() }
                assertEquals(expected, Mixing.splitBatch(batch, mix, have).toList(), c.where)
            }
        }
    }

    @Test
    fun `filling_weights gives Python's draw probabilities`() {
        for (c in TrainData.cases("filling_weights.json")) {
            val mass = c.list("mass").associate { pair ->
                val (slot, share) = (pair as Json.Arr).items.map { it as Json.Num }
                slot.toLongOrNull()!! to share.toDouble()
            }
            val got = Mixing.fillingWeights(
                c.longs("pool").toLongArray(),
                c.longs("user").toLongArray(),
                c.double("user_share"),
                mass,
            )
            val expected = TrainData.doubles(c.list("weights"))
            assertEquals(expected.size, got.size, c.where)
            for (i in got.indices) {
                assertTrue(abs(got[i] - expected[i]) <= 1e-12, "${c.where}[$i] ${got[i]}")
            }
        }
    }

    @Test
    fun `an epoch sees every user row once and draws only live pool rows of D0`() {
        val (d0x, d0y) = TrainData.bundle.d0()
        val width = manifest.featureSize
        val state = LearnerState.initial(manifest, TrainData.bundle.weights())
            .copy(live = listOf(manifest.labels[0], manifest.labels[2]))
        val live = state.slots(manifest.maxClasses).liveSlots()
        val pool = Pool.of(d0x, d0y, state, live)
        val d0Rows = d0y.data.indices.filter { d0y.data[it].toInt() in live }
        assertEquals(d0Rows.size, pool.size)
        for ((i, row) in d0Rows.withIndex()) { // the pool: D0's rows of live slots, in order
            assertEquals(d0y.data[row], pool.slots[i])
            val expected = d0x.data.copyOfRange(row * width, (row + 1) * width)
            assertContentEquals(expected, pool.features.copyOfRange(i * width, (i + 1) * width))
        }
        val user = TrainData.noiseFeatures()
        val n = user.shape[0]
        val targets = LongArray(n) { 1 }
        val rng = Pcg64.seeded(4)
        for (mix in listOf(0.0, 0.25, 0.5, 0.75, 0.9)) {
            val batch = manifest.trainBatch
            val (perUser, perPool) = Mixing.splitBatch(batch, mix, true)
            assertEquals(minOf(batch - 1, Math.rint(batch * mix).toInt()), perPool) // D0 share
            repeat(5) {
                val epoch = pool.batches(user, targets, batch, mix, rng, null).toList()
                assertEquals(ceil(n.toDouble() / perUser).toInt(), epoch.size)
                val seen = ArrayList<Int>()
                for (b in epoch) {
                    assertEquals(batch, b.labels.size)
                    assertEquals(batch * width, b.features.size)
                    for (r in 0 until perUser) {
                        val at = rowOf(user.data, b.features, r, width)
                        assertTrue(at >= 0, "a user row of the batch is not one of the clips")
                        assertEquals(targets[at], b.labels[r])
                        seen += at
                    }
                    for (r in perUser until batch) {
                        val at = rowOf(pool.features, b.features, r, width)
                        assertTrue(at >= 0, "a pool row of the batch is not one of the pool's")
                        assertEquals(pool.slots[at], b.labels[r])
                        assertTrue(b.labels[r].toInt() in live, "a pool row of a slot not live")
                    }
                }
                assertEquals((0 until n).toList(), seen.take(n).sorted(), "each user row once")
            }
        }
    }

    @Test
    fun `pool rows are drawn uniformly, or class-balanced by filling_weights`() {
        val (d0x, d0y) = TrainData.bundle.d0()
        val state = LearnerState.initial(manifest, TrainData.bundle.weights())
        val live = state.slots(manifest.maxClasses).liveSlots()
        val pool = Pool.of(d0x, d0y, state, live)
        val rng = Pcg64.seeded(9)
        val uniform = IntArray(pool.size)
        repeat(4000) {
            Mixing.mixedBatches(3, pool.size, 8, 0.5, rng).forEach { b ->
                b.pool.forEach { uniform[it]++ }
                assertTrue(b.user.all { it in 0 until 3 })
            }
        }
        val mean = uniform.sum().toDouble() / pool.size
        assertTrue(uniform.all { abs(it - mean) < 0.06 * mean }, uniform.toList().toString())
        // the user's rows are all of slot 0: the pool fills the other classes
        val targets = LongArray(3)
        val weights = pool.weights(targets, 8, 0.5, 1.0)!!
        val bySlot = DoubleArray(manifest.maxClasses)
        repeat(4000) {
            Mixing.mixedBatches(3, pool.size, 8, 0.5, rng, weights).forEach { b ->
                b.pool.forEach { bySlot[pool.slots[it].toInt()]++ }
            }
        }
        val total = bySlot.sum()
        val expected = DoubleArray(manifest.maxClasses)
        weights.forEachIndexed { i, w -> expected[pool.slots[i].toInt()] += w }
        for (slot in bySlot.indices) {
            assertTrue(abs(bySlot[slot] / total - expected[slot]) < 0.01, "slot $slot")
        }
        assertTrue(expected[0] < expected[1], "slot 0, filled by the user, is drawn less")
    }

    /** The index of row [r] of [batch] among the rows of [rows], or -1. */
    private fun rowOf(rows: FloatArray, batch: FloatArray, r: Int, width: Int): Int {
        val wanted = batch.copyOfRange(r * width, (r + 1) * width)
        return (0 until rows.size / width).firstOrNull { i ->
            rows.copyOfRange(i * width, (i + 1) * width).contentEquals(wanted)
        } ?: -1
    }
}
