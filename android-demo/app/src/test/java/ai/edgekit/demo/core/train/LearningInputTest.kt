package ai.edgekit.demo.core.train

import ai.edgekit.demo.core.npy.NdArray
import org.junit.Test
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

/**
 * What a session refuses before it trains (nothing changed, no runtime call), and the class
 * slots it enrols into (`edgekit.device.slots.ClassSlots`).
 */
class LearningInputTest {
    private val manifest get() = TrainData.bundle.manifest

    @Test
    fun `wrong requests are refused before any runtime call`() {
        val (x, y) = TrainData.bundle.d0()
        val learning = Learning(manifest, x, y)
        val start = LearnerState.initial(manifest, TrainData.bundle.weights())
        val noise = TrainData.noiseFeatures()
        val step = RecordingStep { _, _, _ -> error("no step for a refused request") }
        val word = manifest.labels[0]
        fun refused(why: String, block: () -> Unit) {
            val e = assertFailsWith<TrainingInputError>(why) { block() }
            assertTrue(e.message!!.isNotEmpty())
        }
        refused("a word not live") { learning.personalize(start, step, noise, List(5) { "x" }) }
        refused("a label per clip") { learning.personalize(start, step, noise, listOf(word)) }
        refused("epochs") { learning.personalize(start, step, noise, List(5) { word }, 0) }
        refused("width") {
            val narrow = NdArray.Float32(intArrayOf(5, 3), FloatArray(15))
            learning.personalize(start, step, narrow, List(5) { word })
        }
        refused("NaN") {
            val bad = LearnerState.rows(noise.data.copyOf().also { it[7] = Float.NaN }, 72)
            learning.personalize(start, step, bad, List(5) { word })
        }
        refused("mix ratio") { learning.enrol(start, step, "hum", noise, mixRatio = 1.0) }
        refused("a word that exists") { learning.enrol(start, step, word, noise) }
        val full = start.copy(labels = manifest.labels + "hum", live = manifest.labels + "hum")
        assertFailsWith<NoFreeSlot> { learning.enrol(full, step, "buzz", noise) }
        assertEquals(0, step.batches.size + step.loads.size)
    }

    @Test
    fun `slots enrol into the next free one and mask the live ones`() {
        val slots = ClassSlots(listOf("a", "b", "c"), 5, live = listOf("a", "c"))
        assertContentEquals(intArrayOf(0, 2), slots.liveSlots())
        assertEquals(3, slots.enrol("d"))
        assertContentEquals(floatArrayOf(1f, 0f, 1f, 1f, 0f), slots.mask())
        assertContentEquals(longArrayOf(3, 0), slots.slotsOf(listOf("d", "a")))
        assertFailsWith<TrainingInputError> { slots.slotsOf(listOf("b")) } // not live
        assertEquals(4, slots.enrol("e"))
        assertFailsWith<NoFreeSlot> { slots.enrol("f") }
        assertFailsWith<TrainingInputError> { ClassSlots(listOf("a", "a"), 4) }
        assertFailsWith<TrainingInputError> { ClassSlots(listOf("a"), 4, live = listOf("z")) }
        assertFailsWith<NoFreeSlot> { ClassSlots(listOf("a", "b"), 1) }
    }
}
