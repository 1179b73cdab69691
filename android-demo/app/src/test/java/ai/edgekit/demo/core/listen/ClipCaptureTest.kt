package ai.edgekit.demo.core.listen

import ai.edgekit.demo.core.train.ClipSet
import org.junit.Test
import kotlin.concurrent.thread
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNull
import kotlin.test.assertTrue

/**
 * Recording one clip for training from a real stream of 16-bit PCM, written in microphone-sized
 * reads on another thread: the clip is exactly the bundle's clip length from where recording
 * began, bit for bit the window the Python detector reads from the same samples, and the
 * program's real features of it (replayed) make the pending clip.
 */
class ClipCaptureTest {
    private val manifest = ListenData.manifest
    private val clip = manifest.clipSamples
    private val hop = Math.rint(manifest.detection.hopSeconds * manifest.sampleRate).toInt()
    private val chunk = 640 // samples per AudioRecord read: 40 ms at 16 kHz

    /** Python's window k covers samples [k * hop - clip / 2, k * hop + clip / 2) of the stream. */
    private fun windowFrom(start: Int): Int = (start + clip / 2) / hop

    @Test
    fun `a clip is the clip length of samples from where recording began`() {
        val samples = ListenData.samples
        for (start in listOf(0, 3 * hop)) {
            val capture = ClipCapture(clip)
            assertNull(capture.await(1), "not full before the samples came")
            val writer = thread {
                var at = start
                while (at < samples.size) {
                    val n = minOf(chunk, samples.size - at)
                    val full = capture.write(samples.copyOfRange(at, at + n), n)
                    at += n
                    if (full && at > start + clip + 2 * chunk) break // reads after it are ignored
                }
            }
            val got = capture.await(10_000)!!
            writer.join()
            assertEquals(clip, capture.captured)
            val k = windowFrom(start)
            assertContentEquals(ListenData.window(k), got, "window $k")

            val program = RecordedProgram(ListenData.runs[0])
            val features = program.embed(got, 1)
            val pending = ClipSet.empty(manifest.featureSize).plus("mid", features)
            val width = manifest.featureSize
            val python = ListenData.features.data.copyOfRange(k * width, (k + 1) * width)
            assertContentEquals(python, pending.features.data)
        }
    }

    @Test
    fun `writes past the clip change nothing and a short read fills it in part`() {
        val capture = ClipCapture(5)
        assertFalse(capture.write(shortArrayOf(-32768, 0, 16384), 2))
        assertEquals(2, capture.captured)
        assertTrue(capture.write(shortArrayOf(1, 2, 3, 4, 5), 5))
        assertTrue(capture.write(shortArrayOf(9, 9), 2))
        val expected = floatArrayOf(-1f, 0f, 1f / 32768, 2f / 32768, 3f / 32768)
        assertContentEquals(expected, capture.await(0)!!)
    }
}
