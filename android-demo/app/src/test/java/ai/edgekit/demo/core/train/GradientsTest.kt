package ai.edgekit.demo.core.train

import ai.edgekit.demo.core.json.Json
import org.junit.Test
import kotlin.math.abs
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertSame
import kotlin.test.assertTrue

/**
 * The refusal and the clip a step's gradients go through, against `JointMethod.step` run by
 * the Python runtime on the bundle's real `train_step` (sgd_step.json): from the gradients the
 * program returned, the clipped SGD update gives the weights Python's step left, and a batch
 * holding a NaN is refused as Python refused it.
 */
class GradientsTest {
    @Test
    fun `clipped gradients give the weights of Python's SGD step`() {
        val start = TrainData.bundle.weights()
        val cases = TrainData.cases("sgd_step.json")
        assertEquals(listOf("clipped", "not clipped", "no clip", "NaN feature"), cases.map {
            it.string("name")
        })
        for (c in cases) {
            val gradients = TrainData.arrays(c.obj("gradients"))
            val loss = (c.raw("loss") as Json.Num).toDouble().toFloat() // NaN in one case
            val step = StepGradients(loss, gradients)
            assertEquals(c.bool("refused"), !Gradients.finite(step), c.where)
            val after = TrainData.arrays(c.obj("after"))
            if (c.bool("refused")) { // nothing applied: the weights stay the bundle's
                for ((name, w) in start) assertContentEquals(w.data, after.getValue(name))
                continue
            }
            val clip = if (c.isNull("clip_norm")) null else c.double("clip_norm")
            val clipped = Gradients.clip(gradients, clip)
            val norm = Gradients.globalNorm(gradients)
            if (clip != null && norm > clip) {
                assertTrue(abs(Gradients.globalNorm(clipped) - clip) < 1e-5 * clip, c.where)
            } else {
                assertSame(gradients, clipped, c.where)
            }
            val lr = c.double("learning_rate").toFloat()
            for ((name, w) in start) {
                val g = clipped.getValue(name)
                val want = after.getValue(name)
                for (i in g.indices) {
                    val got = w.data[i] - lr * g[i]
                    assertTrue(abs(got - want[i]) <= 1e-6f, "${c.where} $name[$i]: $got")
                }
            }
        }
    }

    @Test
    fun `the norm is over every tensor together`() {
        val g = mapOf("a" to floatArrayOf(3f, 0f), "b" to floatArrayOf(4f))
        assertEquals(5.0, Gradients.globalNorm(g))
        val half = Gradients.clip(g, 2.5)
        assertContentEquals(floatArrayOf(1.5f, 0f), half.getValue("a"))
        assertContentEquals(floatArrayOf(2f), half.getValue("b"))
        assertSame(g, Gradients.clip(g, 5.0))
        assertTrue(!Gradients.finite(StepGradients(Float.POSITIVE_INFINITY, g)))
    }
}
