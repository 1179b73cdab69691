package ai.edgekit.demo.core.train

import ai.edgekit.demo.core.bundle.TensorSpec
import ai.edgekit.demo.core.npy.NdArray
import org.junit.Test
import kotlin.math.abs
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertSame
import kotlin.test.assertTrue

/**
 * Imprinting a new word against `edgekit.device.imprint` run with the bundle's real program
 * (imprint.json): the weights it loads before the gradient call, the batch it asks the gradient
 * of, and the column and bias it makes of the gradient `train_step` returned.
 */
class ImprintTest {
    private val doc get() = TrainData.doc("imprint.json")
    private val manifest get() = TrainData.bundle.manifest

    @Test
    fun `the classifier is the last layer, trained whole`() {
        val c = assertNotNull(Imprint.classifier(manifest.trainable))
        assertEquals(manifest.trainable.last().layer, c.weight.layer)
        assertEquals(manifest.maxClasses, c.slots)
        val partial = manifest.trainable.filter { it.kind != "bias" }
        assertNull(Imprint.classifier(partial))
        val unnamed = manifest.trainable.map { TensorSpec(it.name, it.shape.toList(), it.layer) }
        assertNull(Imprint.classifier(unnamed))
    }

    @Test
    fun `the start weights and the batch are Python's`() {
        val d = doc
        val c = Imprint.classifier(manifest.trainable)!!
        val slot = d.int("slot")
        val others = d.longs("others").map { it.toInt() }.toIntArray()
        val start = Imprint.start(TrainData.bundle.weights(), c, slot, others)
        val expected = TrainData.arrays(d.obj("start"))
        for ((name, values) in expected) assertContentEquals(values, start.getValue(name).data)
        val features = TrainData.noiseFeatures()
        val width = manifest.featureSize
        val rows = Imprint.rows(features.shape[0], manifest.trainBatch)
        val batch = FloatArray(rows.size * width)
        rows.forEachIndexed { i, r ->
            System.arraycopy(features.data, r * width, batch, i * width, width)
        }
        assertContentEquals(TrainData.floats(d.list("batch_features")), batch)
        assertEquals(List(manifest.trainBatch) { slot.toLong() }, d.longs("batch_labels"))
    }

    @Test
    fun `the column made of the program's gradient is Python's imprint`() {
        val d = doc
        val weights = TrainData.bundle.weights()
        val out = Imprint.imprint(
            Replay(d.int("slot")),
            weights,
            manifest.trainable,
            TrainData.noiseFeatures(),
            d.int("slot"),
            d.longs("others").map { it.toInt() }.toIntArray(),
            manifest.trainBatch,
            FloatArray(manifest.maxClasses) { 1f },
        )
        val expected = TrainData.arrays(d.obj("imprinted"))
        val c = Imprint.classifier(manifest.trainable)!!
        for (spec in manifest.trainable) {
            val got = out.getValue(spec.name).data
            if (spec.name != c.weight.name && spec.name != c.bias.name) {
                assertSame(weights.getValue(spec.name), out.getValue(spec.name))
            }
            val want = expected.getValue(spec.name)
            for (i in got.indices) {
                val tolerance = 1e-6f * maxOf(1f, abs(want[i]))
                assertTrue(abs(got[i] - want[i]) <= tolerance, "${spec.name}[$i] ${got[i]}")
            }
        }
        val column = (0 until c.inputs).map { out.getValue(c.weight.name).data[it * c.slots + 3] }
        assertTrue(column.any { it != 0f }, "the new column is not imprinted")
    }

    @Test
    fun `a zero gradient imprints nothing`() {
        val c = Imprint.classifier(manifest.trainable)!!
        val weights = TrainData.bundle.weights()
        val zero = FloatArray(c.weight.size)
        assertNull(Imprint.fromGradient(weights, c, 3, intArrayOf(0, 1, 2), zero))
        val nan = FloatArray(c.weight.size) { Float.NaN }
        assertNull(Imprint.fromGradient(weights, c, 3, intArrayOf(0, 1, 2), nan))
    }

    /** The program's answer recorded by Python for the one call imprint makes: it checks that
     * the call is the one Python made (the weights loaded, the batch) before giving it. */
    private inner class Replay(private val slot: Int) : JointStep {
        private var loaded: Map<String, NdArray.Float32> = emptyMap()

        override fun load(weights: Map<String, NdArray.Float32>) {
            loaded = weights
        }

        override fun startSession(learningRate: Double, momentum: Double) =
            error("imprint makes no optimizer")

        override fun gradients(
            features: FloatArray,
            labels: LongArray,
            mask: FloatArray,
        ): StepGradients {
            val d = doc
            for ((name, values) in TrainData.arrays(d.obj("start"))) {
                assertContentEquals(values, loaded.getValue(name).data, "loaded $name")
            }
            assertContentEquals(TrainData.floats(d.list("batch_features")), features)
            assertTrue(labels.all { it == slot.toLong() })
            return StepGradients(0f, TrainData.arrays(d.obj("gradients")))
        }

        override fun step(gradients: Map<String, FloatArray>) = error("imprint applies no step")

        override fun read() = error("imprint reads no weights")
    }
}
