package ai.edgekit.demo.core.update

import ai.edgekit.demo.core.listen.ListenData
import ai.edgekit.demo.core.npy.NdArray
import org.junit.Test
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals

/**
 * The update the app sends the hub is the one Python's `update_body` makes of the same state on
 * the real bundle: the same trainable tensors bit for bit (manifest order), the same slot labels
 * ("" for a label not live and for free slots) and the same D0 scores, the softmax over the live
 * slots of the program's real logits (replayed) to a few float32 ulps (numpy's exp and Java's
 * differ by that much). Scores of more rows than one call takes go through `classify` in
 * Python's chunks of maxBatch rows.
 */
class UpdateBuilderTest {
    private val ulps = 4

    @Test
    fun `the update of a state is Python's update_body of it`() {
        for (case in UpdateData.cases) {
            val program = RecordedClassify(case)
            val d0 = UpdateData.bundle.d0().first
            val kotlin = UpdateBuilder.build(program, case.state, d0)
            val python = HubUpdate.unpack(case.python)
            assertEquals(python.trainable.keys.toList(), kotlin.trainable.keys.toList(), case.name)
            for ((name, w) in python.trainable) {
                val mine = kotlin.trainable.getValue(name)
                assertContentEquals(w.shape, mine.shape, "${case.name}: $name")
                assertContentEquals(w.data, mine.data, "${case.name}: $name")
            }
            assertEquals(python.slotLabels, kotlin.slotLabels, case.name)
            assertContentEquals(python.d0Scores.shape, kotlin.d0Scores.shape, case.name)
            ListenData.assertUlps(python.d0Scores.data, kotlin.d0Scores.data, ulps, case.name)
            assertEquals(listOf(d0.shape[0]), program.calls, "${case.name}: one call holds D0")
        }
        assertEquals(
            listOf("", UpdateData.manifest.labels[1], UpdateData.manifest.labels[2], ""),
            HubUpdate.unpack(UpdateData.case("personal").python).slotLabels,
            "a label not live and a free slot are both \"\"",
        )
        val enrolled = HubUpdate.unpack(UpdateData.case("enrolled").python).slotLabels
        assertEquals(UpdateData.manifest.labels + "noise", enrolled)
    }

    @Test
    fun `scores run classify in chunks of maxBatch rows and are Python's probabilities`() {
        val m = UpdateData.manifest
        for (case in UpdateData.cases) {
            val program = RecordedClassify(case)
            val features = case.features("wide")
            val n = features.shape[0]
            val weights = m.trainable.map { case.weights.getValue(it.name) }
            val scores = UpdateBuilder.scores(program, features, case.mask, weights)
            val python = case.arrays.getValue("wide_probabilities") as NdArray.Float32
            val chunks = List((n + m.maxBatch - 1) / m.maxBatch) {
                minOf(m.maxBatch, n - it * m.maxBatch)
            }
            assertEquals(chunks, program.calls, case.name)
            assertEquals(true, chunks.size > 1, "more rows than one call takes")
            ListenData.assertUlps(python.data, scores.data, ulps, case.name)
            for (row in 0 until n) {
                for (slot in 0 until m.maxClasses) {
                    val p = scores.data[row * m.maxClasses + slot]
                    if (case.mask[slot] == 0f) assertEquals(0f, p, "a slot not live")
                }
            }
        }
    }
}
