package ai.edgekit.demo.core.listen

import org.junit.Test
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

/** The keywords of a stream as `edgekit.device.detect` picks them from the live labels. */
class KeywordsTest {
    @Test
    fun `keywords are the live labels but silence and unknown, or those asked`() {
        val labels = listOf("yes", "_silence_", "no", "_unknown_", "up")
        val mask = floatArrayOf(1f, 1f, 1f, 1f, 0f, 0f)
        val all = Keywords(labels, mask, null)
        assertEquals(listOf("yes", "no"), all.names)
        assertContentEquals(intArrayOf(0, 2), all.slots)
        val asked = Keywords(labels, mask, listOf("no", "_silence_"))
        assertContentEquals(intArrayOf(2, 1), asked.slots)
        val probabilities = floatArrayOf(0.1f, 0.2f, 0.3f, 0.4f, 0f, 0f)
        assertEquals(listOf(0.3f, 0.2f), asked.rows(probabilities, 1).single().toList())
        val notLive = assertFailsWith<IllegalArgumentException> {
            Keywords(labels, mask, listOf("up"))
        }
        assertTrue("[up] are not live" in notLive.message!!, notLive.message)
        assertFailsWith<IllegalArgumentException> {
            Keywords(listOf("_silence_"), floatArrayOf(1f, 0f), null)
        }
        assertFailsWith<IllegalArgumentException> { // a live slot must hold a label
            Keywords(listOf("yes"), floatArrayOf(1f, 1f), null)
        }
    }
}
