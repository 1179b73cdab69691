package ai.edgekit.demo.core.bundle

import ai.edgekit.demo.core.program.FeatureParts
import org.junit.Test
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals

class FeaturePartsTest {
    private val parts = listOf(TensorSpec("a", listOf(2)), TensorSpec("b", listOf(1, 3)))

    @Test
    fun `rows split into the cut's tensors and join back`() {
        val rows = FloatArray(2 * 5) { it.toFloat() } // two rows of 2 + 3 features
        val (a, b) = FeatureParts.split(rows, 2, parts)
        assertContentEquals(floatArrayOf(0f, 1f, 5f, 6f), a)
        assertContentEquals(floatArrayOf(2f, 3f, 4f, 7f, 8f, 9f), b)
        assertContentEquals(rows, FeatureParts.join(listOf(a, b), 2))
        assertContentEquals(longArrayOf(2, 1, 3), FeatureParts.shape(2, parts[1]))
        assertEquals(5, parts.sumOf { it.size })
    }
}
